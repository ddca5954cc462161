"""The demo team talking about its work: threads on runs and datasets, with @mentions,
anchors, replies, reactions, a resolved thread and people following what matters to them.

Each comment is written as the person who says it, through the same services as the API, so
the feed, the inboxes and the audit trail hold what they would hold after a real week.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub.clock import now
from hub.services.collaboration import activity, comments, digests, pages, tasks
from hub.services.collaboration.comments import Anchor
from hub.services.identity.tokens import principal_for_user
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import runs
from hub.store import Store


def today() -> date:
    return now().date()


async def as_person(store: Store, name: str) -> Principal:
    """A demo person, signed in, to act as."""
    user = await store.users.by_name(name)
    assert user is not None, f"the demo person {name} is missing"
    return await principal_for_user(store, user, auth_method="session", auth_id=None)


async def _latest_run(store: Store, project: str, experiment: str) -> str:
    page = await runs.search_runs(
        store, SYSTEM, project, f"experiment = '{experiment}'", ["started_at desc"], 1, None, 500
    )
    return page.runs[0].id


async def load_discussions(store: Store) -> int:
    """Write the demo conversations; returns how many comments were made."""
    ana, dmitri, emi = [
        await as_person(store, n) for n in ("ana.silva", "dmitri.volkov", "emi.tanaka")
    ]
    farah, chioma, gus = [
        await as_person(store, n) for n in ("farah.haddad", "chioma.eze", "gus.lindqvist")
    ]
    made = 0
    await digests.choose(store, ana, "weekly", "Europe/Lisbon")
    await digests.choose(store, farah, "daily", "Europe/Berlin")
    vit = await _latest_run(store, "vision-defects", "vit-finetune")
    await activity.watch(store, ana, "run", vit, True)
    first = await comments.add(
        store,
        dmitri,
        "run",
        vit,
        "Validation loss bumps up around here while train loss keeps falling. Overfitting, or "
        "the new augmentation? @ana.silva can you check the crops?",
        Anchor(metric="val_loss", steps=(900, 1300)),
    )
    reply = await comments.add(
        store,
        ana,
        "run",
        vit,
        "Looked at 50 crops: the random erasing hides the scratch on small parts. I'll rerun "
        "with `erase_p=0.1`.",
        reply_to=first.id,
    )
    await comments.react(store, dmitri, reply.id, "+1", True)
    await tasks.create(
        store,
        ana,
        "vision-defects",
        tasks.TaskInput(
            title="Rerun vit-finetune with erase_p=0.1",
            assignee="ana.silva",
            due_date=today() + timedelta(days=3),
            labels=["augmentation"],
            links=[("run", vit)],
            description="See the thread on the val_loss bump.",
        ),
    )
    await comments.react(store, emi, reply.id, "eyes", True)
    made += 2
    baseline = await _latest_run(store, "vision-defects", "resnet-baseline")
    note = await comments.add(
        store,
        emi,
        "run",
        baseline,
        "This is the baseline for the quarterly review. **Please don't delete it.** "
        "@vision-team compare new runs against it.",
    )
    await comments.resolve(store, emi, note.id, True)
    made += 1

    project = await store.projects.by_name("vision-defects")
    assert project is not None, "the demo's datasets come first"
    inspections = await store.datasets.by_name(project.id, "line-inspections")
    assert inspections is not None
    versions = await store.datasets.versions([inspections.id])
    latest = max(versions, key=lambda v: v.number)
    question = await comments.add(
        store,
        ana,
        "dataset_version",
        latest.id,
        "Line C reads 3 °C warmer than A and B since version 2. Sensor drift, or a real "
        "process change? @farah.haddad you know the line best.",
        Anchor(filter="line = 'C'"),
    )
    await comments.add(
        store,
        farah,
        "dataset_version",
        latest.id,
        "Real change: line C got the new oven on the 3rd. The readings are right; the model "
        "should learn it. I labelled 40 rows on the Rows tab.",
        reply_to=question.id,
    )
    made += 2

    lora = await _latest_run(store, "support-llm", "lora-r16")
    ask = await comments.add(
        store,
        gus,
        "run",
        lora,
        "The drafts are polite but too long for refund questions; agents cut most of it. "
        "@chioma.eze could the next run penalise length?",
    )
    await comments.add(
        store, chioma, "run", lora, "Yes: adding a length term to the reward.", reply_to=ask.id
    )
    made += 2
    await tasks.create(
        store,
        farah,
        "vision-defects",
        tasks.TaskInput(
            title="Label the line C readings after the oven change",
            assignee="farah.haddad",
            status="doing",
            labels=["data", "line C"],
            links=[("dataset_version", latest.id)],
        ),
    )
    await pages.save(
        store,
        emi,
        "vision-defects",
        "decisions",
        "Decisions",
        "# Decisions\n\n- **Baseline for the quarterly review:** [[run:"
        + ((await store.runs.by_ids([baseline]))[baseline].name)
        + "]]. Compare new runs against it.\n- **Training data:** from version 2 on, "
        "[[dataset:line-inspections]] includes line C after the oven change (see the thread "
        "on version 2 and [[task:2]]).\n- **Augmentation:** random erasing at 0.1 at most "
        "([[task:1]]).\n",
        "baseline and data decided in the Monday review",
    )
    await pages.save(
        store,
        ana,
        "vision-defects",
        "onboarding",
        "Onboarding",
        "# Welcome to vision-defects\n\n1. Read [[page:decisions]].\n2. Log runs with "
        '`hub.init(project="vision-defects", ...)` and record the data with '
        "`run.use_dataset(...)`.\n3. Ask in the run's discussion, and @mention people.\n",
    )
    await pages.save(
        store,
        dmitri,
        "vision-defects",
        "val-loss-bump",
        "",
        _notebook(),
        kind="notebook",
        run_id=vit,
        message="the crops that random erasing hides",
    )
    return made


def _notebook() -> str:
    """A short analysis notebook with its outputs, as a data scientist would share it."""

    def markdown(cell_id: str, text: str) -> dict[str, object]:
        return {"id": cell_id, "cell_type": "markdown", "metadata": {}, "source": text}

    result = {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": "count    50.00\nmean      0.62\nmax       1.00"},
    }
    code = {
        "id": "measure",
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "outputs": [result],
        "source": "crops = load_crops(run, step=1000)\n"
        "(crops.erased_area / crops.defect_area).describe()",
    }
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                markdown(
                    "question",
                    "# Why val_loss bumps at step 1,000\nRandom erasing covers "
                    "the scratch on **small parts**.",
                ),
                code,
                markdown("answer", "On 18 of 50 crops the erased box hides the whole defect."),
            ],
        }
    )
