"""Job checks of model versions, run on the Ray cluster, and what follows when checks end.

A ``job`` check's entrypoint runs as a Ray job for the person who registered the version, in
the model's project (so its GPU-hours are theirs), once it fits the cluster's bookings and the
project's quota. It learns what to check from its environment:

- ``SALON_MODEL``, ``SALON_MODEL_VERSION`` (the number), ``SALON_MODEL_VERSION_ID``;
- ``SALON_MODEL_SOURCE``: where the weights are, as registered; ``SALON_RUN_ID``;
- ``SALON_DATASET_PATH``: the Parquet file of the check's dataset version, when it names one.

It passes when the job succeeds. It may say more by printing one line
``SALON_CHECK {"passed": false, "detail": "…"}`` (the last such line counts). The end of its
log is kept with the result. :func:`runner` looks at queued and running job checks every few
seconds while the hub runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from connectors.ray import RayCluster
from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.registry import CheckSpec, ModelCheck, ModelVersionRecord
from hub.errors import Conflict, StoreUnavailable
from hub.services.cluster import cluster
from hub.services.data import datasets
from hub.services.policy import audit, feed
from hub.services.policy.permissions import WRITE
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.registry import models, promotion, registration, reviews
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.model_checks")
MARK = "SALON_CHECK "
KEPT_LOG = 20_000


async def settle(store: Store, version_id: str) -> None:
    """After a version's checks changed: move its alias if its policy says so and allows it."""
    version = (await store.models.versions_by_ids([version_id])).get(version_id)
    if version is not None:
        await promotion.move_if_satisfied(store, version)


def verdict(succeeded: bool, logs: str) -> tuple[bool, str]:
    """(passed, detail) from a finished job's success and what it printed."""
    said: dict[str, object] | None = None
    for line in logs.splitlines():
        if line.startswith(MARK):
            try:
                parsed = json.loads(line[len(MARK) :])
            except ValueError:
                continue
            if isinstance(parsed, dict):
                said = parsed
    if not succeeded:
        detail = str(said.get("detail", "")) if said else ""
        return False, detail or "The job failed; see its log."
    if said is None:
        return True, "The job succeeded."
    passed = said.get("passed") is True
    return passed, str(said.get("detail") or ("Passed." if passed else "The job said it failed."))


async def _environment(
    store: Store, version: ModelVersionRecord, spec: CheckSpec
) -> dict[str, str]:
    model = (await store.models.by_ids([version.model_id]))[version.model_id]
    env = {
        "SALON_MODEL": model.name,
        "SALON_MODEL_VERSION": str(version.number),
        "SALON_MODEL_VERSION_ID": version.id,
        "SALON_MODEL_SOURCE": version.source,
        "SALON_RUN_ID": version.run_id or "",  # empty: registered from outside Salon
    }
    if spec.dataset_version:
        files = await store.datasets.files(spec.dataset_version)
        env["SALON_DATASET_PATH"] = ",".join(await datasets.paths_of(store, files))
    return env


async def _start(
    store: Store, settings: Settings, check: ModelCheck, version: ModelVersionRecord
) -> ModelCheck:
    spec = check.spec
    owner = await store.users.by_id(version.created_by)
    project = (await store.projects.by_ids([version.project_id]))[version.project_id]
    try:
        env = await _environment(store, version, spec)
        job = await cluster.launch(
            store,
            settings,
            project,
            owner.name if owner else "unknown",
            version.created_by,
            spec.entrypoint or "",
            spec.gpus,
            1,
            version.run_id,
            env=env,
            events=lambda job: [
                audit.event(SYSTEM, "job.submit", "job", job.submission_id, project.id)
            ],
        )
    except Conflict as exc:
        return dataclasses.replace(check, detail=f"Waiting for GPUs: {exc.message}")
    except StoreUnavailable as exc:
        return dataclasses.replace(check, status="failed", detail=exc.message, ended_at=now())
    return dataclasses.replace(
        check,
        status="running",
        job_id=job.submission_id,
        detail="Running on the cluster.",
        started_at=now(),
    )


async def _follow(settings: Settings, check: ModelCheck) -> ModelCheck:
    assert check.job_id is not None
    try:
        job = await cluster.ask(settings, RayCluster.job, check.job_id)
        if not job.finished:
            return check
        logs = await cluster.ask(settings, RayCluster.logs, check.job_id)
    except StoreUnavailable as exc:
        log.warning("Cannot follow check %s: %s", check.id, exc.message)
        return check
    passed, detail = verdict(job.status == "SUCCEEDED", logs)
    if job.status == "STOPPED":
        passed, detail = False, "The job was stopped."
    return dataclasses.replace(
        check,
        status="passed" if passed else "failed",
        detail=detail,
        log=logs[-KEPT_LOG:],
        ended_at=now(),
    )


def _events(check: ModelCheck, version: ModelVersionRecord, model_name: str) -> list[EventDraft]:
    if check.status != "failed":
        return []
    spec = check.spec
    return [
        feed.entry(
            SYSTEM,
            "model.check_failed",
            "model_version",
            version.id,
            version.project_id,
            f"check {spec.title!r} failed on version {version.number} of model "
            f"{model_name}: {check.detail[:150]}",
            recipients=[(version.created_by, "model")],
        )
    ]


async def step(store: Store, settings: Settings) -> int:
    """Start queued job checks and look at running ones; how many changed."""
    pending = await store.models.pending_checks()
    versions = await store.models.versions_by_ids(sorted({c.version_id for c in pending}))
    names = {
        m.id: m.name
        for m in (
            await store.models.by_ids(sorted({v.model_id for v in versions.values()}))
        ).values()
    }
    changed = 0
    for check in pending:
        version = versions[check.version_id]
        if check.status == "queued":
            updated = await _start(store, settings, check, version)
        else:
            updated = await _follow(settings, check)
        if updated != check:
            changed += 1
            await store.models.update_check(
                updated, audit=_events(updated, version, names[version.model_id])
            )
            if updated.status in ("passed", "failed"):
                await settle(store, version.id)
    return changed


async def rerun(store: Store, principal: Principal, version_id: str) -> list[ModelCheck]:
    """Run the version's checks again, under the policy it was registered with (editors)."""
    version, found = await models.find_version(store, principal, version_id, WRITE, "model.checks")
    checks = await registration.checks_for(store, version, found.model.id)
    events: list[EventDraft] = [
        audit.event(principal, "model.checks", "model_version", version.id, version.project_id)
    ]
    await store.models.replace_checks(version.id, checks, audit=events)
    await reviews.settle_checks(store, version.id)  # review checks count the verdicts given
    await promotion.move_if_satisfied(store, version)
    return checks
