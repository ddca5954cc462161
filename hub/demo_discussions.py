"""The demo team talking about its work: threads on runs and datasets, with @mentions,
anchors, replies, reactions, a resolved thread and people following what matters to them.

Each comment is written as the person who says it, through the same services as the API, so
the feed, the inboxes and the audit trail hold what they would hold after a real week.
"""

from __future__ import annotations

from hub.services import activity, comments, runs
from hub.services.comments import Anchor
from hub.services.principal import SYSTEM, Principal
from hub.services.tokens import principal_for_user
from hub.store import Store


async def _as(store: Store, name: str) -> Principal:
    user = await store.users.by_name(name)
    assert user is not None, f"the demo person {name} is missing"
    return await principal_for_user(store, user, auth_method="session", auth_id=None)


async def _latest_run(store: Store, project: str, experiment: str) -> str:
    page = await runs.search_runs(store, SYSTEM, project, f"experiment = '{experiment}'",
                                  ["started_at desc"], 1, None, 500)  # fmt: skip
    return page.runs[0].id


async def load_discussions(store: Store) -> int:
    """Write the demo conversations; returns how many comments were made."""
    ana, dmitri, emi = [await _as(store, n) for n in ("ana.silva", "dmitri.volkov", "emi.tanaka")]
    farah, chioma, gus = [await _as(store, n) for n in ("farah.haddad", "chioma.eze",
                                                       "gus.lindqvist")]  # fmt: skip
    made = 0
    vit = await _latest_run(store, "vision-defects", "vit-finetune")
    await activity.watch(store, ana, "run", vit, True)
    first = await comments.add(
        store, dmitri, "run", vit,
        "Validation loss bumps up around here while train loss keeps falling. Overfitting, or "
        "the new augmentation? @ana.silva can you check the crops?",
        Anchor(metric="val_loss", steps=(900, 1300)),
    )  # fmt: skip
    reply = await comments.add(
        store, ana, "run", vit,
        "Looked at 50 crops: the random erasing hides the scratch on small parts. I'll rerun "
        "with `erase_p=0.1`.",
        reply_to=first.id,
    )  # fmt: skip
    await comments.react(store, dmitri, reply.id, "+1", True)
    await comments.react(store, emi, reply.id, "eyes", True)
    made += 2
    baseline = await _latest_run(store, "vision-defects", "resnet-baseline")
    note = await comments.add(
        store, emi, "run", baseline,
        "This is the baseline for the quarterly review. **Please don't delete it.** "
        "@vision-team compare new runs against it.",
    )  # fmt: skip
    await comments.resolve(store, emi, note.id, True)
    made += 1

    inspections = await store.datasets.by_name(
        (await store.projects.by_name("vision-defects")).id,  # type: ignore[union-attr]
        "line-inspections",
    )
    assert inspections is not None
    versions = await store.datasets.versions([inspections.id])
    latest = max(versions, key=lambda v: v.number)
    question = await comments.add(
        store, ana, "dataset_version", latest.id,
        "Line C reads 3 °C warmer than A and B since version 2. Sensor drift, or a real "
        "process change? @farah.haddad you know the line best.",
        Anchor(filter="line = 'C'"),
    )  # fmt: skip
    await comments.add(
        store, farah, "dataset_version", latest.id,
        "Real change: line C got the new oven on the 3rd. The readings are right; the model "
        "should learn it. I labelled 40 rows on the Rows tab.",
        reply_to=question.id,
    )  # fmt: skip
    made += 2

    lora = await _latest_run(store, "support-llm", "lora-r16")
    ask = await comments.add(
        store, gus, "run", lora,
        "The drafts are polite but too long for refund questions; agents cut most of it. "
        "@chioma.eze could the next run penalise length?",
    )  # fmt: skip
    await comments.add(store, chioma, "run", lora, "Yes: adding a length term to the reward.",
                       reply_to=ask.id)  # fmt: skip
    made += 2
    return made
