"""Demo data: a small team, three projects and runs whose curves look like real training."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.domain.tracking import RunEnvironment
from hub.services.identity import accounts
from hub.services.policy import access
from hub.services.policy.principal import Principal
from hub.services.tracking import artifacts, metrics, projects, runs
from hub.store import Store

TEAM = ("ana.silva", "ben.okafor", "chioma.eze", "dmitri.volkov", "emi.tanaka")
PEOPLE = {  # name: (display name, e-mail, what they do)
    "ana.silva": ("Ana Silva", "ana.silva@example.com", "ML engineer, vision"),
    "ben.okafor": ("Ben Okafor", "ben.okafor@example.com", "data scientist, growth"),
    "chioma.eze": ("Chioma Eze", "chioma.eze@example.com", "ML engineer, assistants"),
    "dmitri.volkov": ("Dmitri Volkov", "dmitri.volkov@example.com", "data scientist, vision"),
    "emi.tanaka": ("Emi Tanaka", "emi.tanaka@example.com", "research lead"),
    "farah.haddad": ("Farah Haddad", "farah.haddad@example.com", "quality engineer (expert)"),
    "gus.lindqvist": ("Gus Lindqvist", "gus.lindqvist@example.com", "support manager (expert)"),
    "hana.kim": ("Hana Kim", "hana.kim@example.com", "compliance officer"),
}
COMPLIANCE = ("hana.kim",)
RANKS = ("viewer", "commenter", "editor", "maintainer", "admin")
TRY = {  # what each demo person is there to show
    "ana.silva": "compare the detector runs and promote a model version",
    "ben.okafor": "read the churn forecasts and book GPUs",
    "chioma.eze": "the support assistant's runs and wiki",
    "dmitri.volkov": "log a run from a notebook and discuss it",
    "emi.tanaka": "the leads' view of every project",
    "farah.haddad": "review the detector version waiting for approval",
    "gus.lindqvist": "review the assistant's answers",
    "hana.kim": "the audit trail and the GPU usage report (no project role)",
}
GROUPS = {
    "vision-team": ("Trains the defect detectors.", ("ana.silva", "dmitri.volkov")),
    "growth-team": ("Forecasts churn.", ("ben.okafor",)),
    "assist-team": ("Builds the support assistant.", ("chioma.eze",)),
    "leads": ("Research leads.", ("emi.tanaka",)),
}
MEMBERSHIPS = (  # project, kind, name, role
    ("vision-defects", "group", "vision-team", "editor"),
    ("vision-defects", "user", "ana.silva", "maintainer"),
    ("vision-defects", "user", "farah.haddad", "commenter"),
    ("churn-forecast", "group", "growth-team", "editor"),
    ("churn-forecast", "user", "ben.okafor", "maintainer"),
    ("churn-forecast", "group", "leads", "viewer"),
    ("support-llm", "group", "assist-team", "editor"),
    ("support-llm", "user", "gus.lindqvist", "commenter"),
    ("support-llm", "group", "leads", "maintainer"),
    ("vision-defects", "group", "leads", "admin"),
)
PROJECTS = {
    "vision-defects": "Spotting scratches and dents on the assembly line from camera images.",
    "churn-forecast": "Which subscribers are likely to cancel next month, and why.",
    "support-llm": "A fine-tuned assistant that drafts answers to customer support tickets.",
}


@dataclasses.dataclass(frozen=True)
class DemoExperiment:
    project: str
    name: str
    team: str
    model: str
    steps: int
    runs: int
    base_acc: float


EXPERIMENTS = (
    DemoExperiment("vision-defects", "resnet-baseline", "vision", "resnet50", 3000, 8, 0.90),
    DemoExperiment("vision-defects", "vit-finetune", "vision", "vit-b16", 2000, 6, 0.93),
    DemoExperiment("vision-defects", "augmentation-sweep", "vision", "resnet50", 1500, 10, 0.91),
    DemoExperiment("churn-forecast", "gbm-features-v2", "growth", "lightgbm", 800, 8, 0.84),
    DemoExperiment("churn-forecast", "tabtransformer", "growth", "tabtransformer", 1200, 5, 0.82),
    DemoExperiment("support-llm", "lora-r16", "assist", "llama-3-8b-lora", 2500, 5, 0.71),
    DemoExperiment("support-llm", "dpo-preferences", "assist", "llama-3-8b-dpo", 1800, 4, 0.74),
)
NOTES = (
    "Loss plateaus after warm-up; @chioma.eze can you check the label noise in batch 14?",
    "Best so far. Promoting to the review queue once @ben.okafor signs off on the eval set.",
    "Diverged at step ~600 — lr too high for this batch size.",
    "",
    "",
)


def _curves(
    rng: np.random.Generator, steps: int, lr: float, base_acc: float, diverge: bool
) -> dict[str, np.ndarray]:
    t = np.arange(steps, dtype=np.float64)
    speed = 3.0 * min(lr / 1e-3, 3.0) / steps
    train_loss = 2.3 * np.exp(-speed * t) + 0.08 + rng.normal(0, 0.04, steps) * np.exp(-t / steps)
    overfit = np.clip((t - steps * 0.6) / steps, 0, None) * 0.6
    val_loss = 2.3 * np.exp(-speed * 0.8 * t) + 0.18 + overfit + rng.normal(0, 0.03, steps)
    acc_cap = base_acc - abs(np.log10(lr) + 3) * 0.02 + rng.normal(0, 0.01)
    val_acc = acc_cap * (1 - np.exp(-speed * 1.2 * t)) + rng.normal(0, 0.006, steps)
    warmup = max(1, steps // 20)
    schedule = np.where(
        t < warmup, lr * t / warmup, lr * 0.5 * (1 + np.cos(np.pi * (t - warmup) / steps))
    )
    if diverge:
        cut = int(steps * 0.3)
        train_loss[cut:] = train_loss[cut] * np.exp((t[cut:] - cut) / 60.0)
        val_loss[cut:] = val_loss[cut] * np.exp((t[cut:] - cut) / 50.0)
        val_acc[cut:] = np.maximum(val_acc[cut] - (t[cut:] - cut) / steps, 0.1)
    spikes = rng.choice(steps, size=3, replace=False)
    train_loss[spikes] += rng.uniform(0.5, 1.5, 3)  # the kind of spike downsampling must keep
    return {
        "train/loss": np.maximum(train_loss, 0.01),
        "val/loss": np.maximum(val_loss, 0.02),
        "val/acc": np.clip(val_acc, 0, 1),
        "lr": schedule,
    }


def who_is_who() -> list[str]:
    """A line per demo person: what they do, their roles, and what to try as them."""
    lines = []
    for name, (_, _, what) in PEOPLE.items():
        groups = {group for group, (_, members) in GROUPS.items() if name in members}
        best: dict[str, str] = {}  # project: the strongest role, in person or by a group
        for project, kind, who, role in MEMBERSHIPS:
            if (kind, who) == ("user", name) or (kind == "group" and who in groups):
                if RANKS.index(role) > RANKS.index(best.get(project, "viewer")):
                    best[project] = role
                best.setdefault(project, role)
        roles = [f"{role} on {project}" for project, role in best.items()]
        held = ", ".join(roles) or ("audit reader" if name in COMPLIANCE else "no role")
        lines.append(f"{name} ({what}; {held}): {TRY[name]}")
    return lines


async def load_people(store: Store, principal: Principal, password: str) -> None:
    """The demo team's accounts (all with ``password``), groups and roles on the projects."""
    for name, (display, email, _) in PEOPLE.items():
        await accounts.create_user(
            store,
            principal,
            name,
            password,
            display_name=display,
            email=email,
            is_compliance=name in COMPLIANCE,
        )
    for group, (description, members) in GROUPS.items():
        await accounts.create_group(store, principal, group, description)
        for member in members:
            await accounts.add_member(store, principal, group, member)
    for project, kind, name, role in MEMBERSHIPS:
        await access.grant_role(store, principal, project, kind, name, role, pii=role == "admin")


async def _files(
    store: Store,
    principal: Principal,
    run_id: str,
    experiment: str,
    curves: dict[str, np.ndarray],
    diverged: bool,
) -> None:
    """What a training script leaves next to its curves: its config and an evaluation note."""
    finals = "\n".join(f"| {key} | {values[-1]:.4f} |" for key, values in curves.items())
    verdict = "Diverged: the loss blew up; lower the learning rate." if diverged else "Converged."
    files = {
        "config.yaml": f"experiment: {experiment}\nrun: {run_id}\n",
        "eval/report.md": f"# Evaluation\n\n{verdict}\n\n| metric | final |\n|---|---|\n{finals}\n",
    }
    for path, text in files.items():

        async def receive(target: Path, text: str = text) -> None:
            target.write_text(text)

        await artifacts.upload(store, principal, "run", run_id, path, receive)


async def load_demo(store: Store, principal: Principal, seed: int = 7) -> int:
    """Fill ``store`` with the demo team's work; returns the number of runs created."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    created = 0
    for name, description in PROJECTS.items():
        await projects.ensure_project(store, principal, name, description)
    for number, exp in enumerate(EXPERIMENTS):
        for index in range(exp.runs):
            lr = float(pick.choice([3e-4, 1e-3, 3e-3, 1e-2]))
            batch = pick.choice([32, 64, 128, 256])
            user = pick.choice(TEAM)
            started = now - timedelta(days=20 - number * 2.5 - index * 0.3, hours=pick.random() * 8)
            is_last = number == len(EXPERIMENTS) - 1 and index == exp.runs - 1
            if is_last:  # still training: started this morning
                started = now - timedelta(hours=3)
            diverge = lr >= 1e-2 and pick.random() < 0.6
            steps = exp.steps if not is_last else exp.steps // 2
            run = await runs.create_run(
                store,
                principal,
                runs.NewRun(
                    project=exp.project,
                    experiment=exp.name,
                    name=f"{exp.name}-{index + 1:02d}",
                    params={
                        "model": exp.model,
                        "optimizer": pick.choice(["adamw", "adamw", "sgd"]),
                        "lr": str(lr),
                        "batch_size": str(batch),
                        "epochs": str(pick.choice([10, 20, 30])),
                        "weight_decay": str(pick.choice([0.0, 0.01, 0.05])),
                        "dropout": str(pick.choice([0.0, 0.1, 0.2, 0.3])),
                        "seed": str(pick.randint(0, 9999)),
                        "dataset": f"{exp.project}-v{pick.randint(3, 5)}",
                    },
                    tags={
                        "team": exp.team,
                        "purpose": pick.choice(["sweep", "baseline", "ablation"]),
                    },
                    notes=pick.choice(NOTES),
                    user_name=user,
                    started_at=started,
                    environment=RunEnvironment(
                        git_commit=f"{pick.getrandbits(160):040x}",
                        git_dirty=pick.random() < 0.2,
                        command=f"python train.py --config configs/{exp.name}.yaml",
                        python_version="3.11.7",
                        host=f"gpu-node-{pick.randint(1, 4)}",
                        packages=("numpy==2.4.6", "torch==2.9.1", "salon==0.1.0"),
                    ),
                ),
            )
            curves = _curves(rng, steps, lr, exp.base_acc, diverge)
            seconds = steps * (0.4 + pick.random() * 0.4)
            if is_last:
                seconds = 3 * 3600 - 120  # its latest point is two minutes old
            stamps = (started.timestamp() + np.linspace(0, seconds, steps)) * 1000
            table = pa.concat_tables(
                pa.table(
                    {
                        "key": pa.array([key] * steps),
                        "step": pa.array(np.arange(steps), pa.int64()),
                        "ts": pa.array(stamps.astype(np.int64)),
                        "value": pa.array(values),
                    }
                )
                for key, values in curves.items()
            )
            await metrics.ingest_table(store, principal, run.id, "demo", table)
            if not is_last:
                status = "failed" if diverge else "finished"
                await _files(store, principal, run.id, exp.name, curves, diverge)
                await runs.finish_run(
                    store, principal, run.id, status, started + timedelta(seconds=seconds)
                )
            created += 1
    return created
