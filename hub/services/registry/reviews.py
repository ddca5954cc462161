"""Review queues: domain experts judge a model version's predictions one sample at a time.

An editor starts a queue over a predictions table (a dataset version of the model's project with
the inputs, the prediction and optionally the ground truth): a random sample of its rows, each to
be judged by ``per_item`` people. Reviewers (commenters and up who may see the dataset) mark each
prediction correct or not, pick the right label, and may say why. The queue's tally is the
version's human-judged accuracy with its confidence interval, and how much reviewers agree;
publishing it makes a new version of the predictions table with the reviewed labels, for the
next training round. PII columns stay masked for reviewers without the grant.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from typing import Any

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.data import DatasetVersionRecord
from hub.domain.registry import Judgement, ReviewQueue
from hub.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.collaboration import activity
from hub.services.data import datasets
from hub.services.data.dataset_uploads import store_version
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import COMMENT, READ, WRITE
from hub.services.policy.principal import Principal
from hub.services.registry import models, promotion
from hub.services.registry.review_stats import Tally, majority, tally
from hub.settings import Settings
from hub.store import Store

MAX_SAMPLES = 5000
MAX_PER_ITEM = 10
MAX_LABELS = 200
MAX_LABEL = 200
MAX_COMMENT = 4000
MAX_INSTRUCTIONS = 20_000
GRID = 100  # samples per page in the grid


@dataclasses.dataclass(frozen=True, slots=True)
class Opened:
    """A queue the principal may see, with where its samples come from."""

    queue: ReviewQueue
    model: str
    version: int
    found: datasets.Found  # the predictions dataset, with the principal's access
    record: DatasetVersionRecord


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    position: int
    row_number: int
    columns: list[str]
    values: list[Any]
    prediction: Any
    truth: Any
    mine: Judgement | None
    judgements: int  # by anyone


@dataclasses.dataclass(frozen=True, slots=True)
class SamplePage:
    opened: Opened
    samples: list[Sample]
    total: int  # samples in the queue
    judged_by_me: int


async def _open(
    store: Store, principal: Principal, queue_id: str, needed: str, action: str
) -> Opened:
    queue = await store.reviews.by_id(queue_id)
    if queue is None:
        await audit.deny(store, principal, action, "review", queue_id)
        raise permissions.not_found(f"review with id {queue_id!r}", field="id")
    version, found_model = await models.find_version(
        store, principal, queue.version_id, needed, action
    )
    record = (await store.datasets.versions_by_ids([queue.dataset_version_id]))[
        queue.dataset_version_id
    ]
    dataset = (await store.datasets.by_ids([record.dataset_id]))[record.dataset_id]
    found = await datasets.find(
        store, principal, found_model.project.name, dataset.name, READ, action
    )
    return Opened(queue, found_model.model.name, version.number, found, record)


async def start(
    store: Store,
    principal: Principal,
    version_id: str,
    dataset: str,
    prediction_column: str,
    *,
    dataset_version: int | None = None,
    truth_column: str | None = None,
    labels: list[str] | None = None,
    size: int = 200,
    per_item: int = 2,
    instructions: str = "",
    seed: int | None = None,
) -> ReviewQueue:
    """A queue over ``size`` random rows of the predictions table (editors)."""
    version, found_model = await models.find_version(
        store, principal, version_id, WRITE, "review.start"
    )
    found = await datasets.find(
        store, principal, found_model.project.name, dataset, READ, "review.start"
    )
    record = await datasets.version(store, found, dataset_version)
    names = [c.name for c in record.schema]
    for column, field in ((prediction_column, "predictionColumn"), (truth_column, "truthColumn")):
        if column is not None and column not in names:
            raise InvalidInput(
                f"Version {record.number} of {dataset} has no column {column!r}.", field=field
            )
    if not 1 <= size <= min(MAX_SAMPLES, record.row_count):
        raise LimitExceeded(
            f"Review 1 to {min(MAX_SAMPLES, record.row_count):,} samples (the "
            f"table has {record.row_count:,} rows).",
            field="size",
        )
    if not 1 <= per_item <= MAX_PER_ITEM:
        raise InvalidInput(f"Ask for 1 to {MAX_PER_ITEM} reviewers per sample.", field="perItem")
    if len(instructions) > MAX_INSTRUCTIONS:
        raise LimitExceeded(
            f"The instructions are longer than {MAX_INSTRUCTIONS:,} characters.",
            field="instructions",
        )
    if labels is None:
        paths = await datasets.paths_of(store, await store.datasets.files(record.id))
        labels = await store.datasets.distinct(paths, prediction_column, MAX_LABELS + 1)
    labels = list(dict.fromkeys(str(label).strip() for label in labels if str(label).strip()))
    if len(labels) > MAX_LABELS or any(len(label) > MAX_LABEL for label in labels):
        raise LimitExceeded(
            f"At most {MAX_LABELS} labels of {MAX_LABEL} characters (give them when the "
            "prediction is a number or free text).",
            field="labels",
        )
    rows = random.Random(seed).sample(range(record.row_count), size)
    queue = ReviewQueue(
        new_id(),
        version.id,
        version.project_id,
        record.id,
        prediction_column,
        truth_column,
        tuple(labels),
        per_item,
        instructions,
        principal.user_id,
        now(),
        None,
    )
    watchers = await store.activity.watchers([("model", version.model_id)])
    events: list[EventDraft] = [
        audit.event(principal, "review.start", "review", queue.id, version.project_id),
        feed.entry(
            principal,
            "review.start",
            "model_version",
            version.id,
            version.project_id,
            f"asked for a review of {size} predictions of {found_model.model.name} "
            f"version {version.number}",
            recipients=[(u, "watch") for u in sorted(watchers) if u != principal.user_id],
        ),
    ]
    return await store.reviews.create(queue, rows, audit=events)


async def _verdicts(store: Store, queue: ReviewQueue) -> dict[int, list[Judgement]]:
    found: dict[int, list[Judgement]] = defaultdict(list)
    for judgement in await store.reviews.judgements([queue.id]):
        found[judgement.position].append(judgement)
    return found


def _tally(queue: ReviewQueue, rows: int, given: dict[int, list[Judgement]]) -> Tally:
    return tally(
        rows, queue.per_item, {p: [(j.correct, j.label) for j in js] for p, js in given.items()}
    )


async def summary(store: Store, principal: Principal, queue_id: str) -> tuple[Opened, Tally]:
    opened = await _open(store, principal, queue_id, READ, "review.read")
    rows = await store.reviews.items(queue_id)
    result = _tally(opened.queue, len(rows), await _verdicts(store, opened.queue))
    await audit.read(
        store, principal, "review.read", "review", queue_id, opened.queue.project_id, 1
    )
    return opened, result


async def of_version(store: Store, principal: Principal, version_id: str) -> list[ReviewQueue]:
    await models.find_version(store, principal, version_id, READ, "review.read")
    return await store.reviews.of_versions([version_id])


async def tallies(store: Store, queues: list[ReviewQueue]) -> dict[str, Tally]:
    """Each queue's tally (for a version the caller may already read)."""
    counted = {}
    for queue in queues:
        rows = await store.reviews.items(queue.id)
        counted[queue.id] = _tally(queue, len(rows), await _verdicts(store, queue))
    return counted


async def waiting(store: Store, principal: Principal) -> list[ReviewQueue]:
    """Open queues in the principal's projects, newest first."""
    readable = await activity.readable(store, principal)
    held = [p for p, access in readable.items() if access.allows(COMMENT)]
    return await store.reviews.open_in(held)


async def samples(
    store: Store,
    principal: Principal,
    queue_id: str,
    *,
    position: int | None = None,
    offset: int = 0,
    limit: int = 1,
) -> SamplePage:
    """Samples to judge with their values (PII masked for those without the grant): by default
    the next one the principal has not judged that still needs judging; or ``limit`` samples
    from ``offset`` (the grid); or the one at ``position``."""
    opened = await _open(store, principal, queue_id, COMMENT, "review.read")
    if not 1 <= limit <= GRID or offset < 0:
        raise LimitExceeded(f"Ask for 1 to {GRID} samples at a time.", field="limit")
    rows = await store.reviews.items(queue_id)
    given = await _verdicts(store, opened.queue)
    mine = {p: j for p, js in given.items() for j in js if j.user_id == principal.user_id}
    if position is not None:
        if not 0 <= position < len(rows):
            raise NotFound(f"The review has samples 0 to {len(rows) - 1}.", field="position")
        chosen = [position]
    elif limit == 1 and offset == 0:
        wanted = opened.queue.per_item
        chosen = [p for p in range(len(rows)) if p not in mine and len(given.get(p, [])) < wanted][
            :1
        ]
    else:
        chosen = list(range(offset, min(offset + limit, len(rows))))
    names = [c.name for c in opened.record.schema]
    masked = await datasets.masked_columns(store, opened.found)
    paths = await datasets.paths_of(store, await store.datasets.files(opened.record.id))
    values = await store.datasets.rows_at(paths, names, [rows[p] for p in chosen])
    shown = []
    for p in chosen:
        row = [
            None if v is None else (datasets.MASK if n in masked else datasets.plain(v))
            for n, v in zip(names, values[rows[p]], strict=True)
        ]
        by_name = dict(zip(names, row, strict=True))
        truth = by_name.get(opened.queue.truth_column) if opened.queue.truth_column else None
        shown.append(
            Sample(
                p,
                rows[p],
                names,
                row,
                by_name[opened.queue.prediction_column],
                truth,
                mine.get(p),
                len(given.get(p, [])),
            )
        )
    await audit.read(
        store, principal, "review.read", "review", queue_id, opened.queue.project_id, len(shown)
    )
    return SamplePage(opened, shown, len(rows), len(mine))


async def judge(
    store: Store,
    principal: Principal,
    queue_id: str,
    position: int,
    correct: bool,
    label: str | None = None,
    comment: str = "",
) -> Judgement:
    """The principal's verdict on one sample (commenters and up); a second verdict on the same
    sample replaces the first."""
    opened = await _open(store, principal, queue_id, COMMENT, "review.judge")
    rows = await store.reviews.items(queue_id)
    if not 0 <= position < len(rows):
        raise NotFound(f"The review has samples 0 to {len(rows) - 1}.", field="position")
    labels = list(opened.queue.labels)
    label = (label or "").strip() or None
    if correct and label is not None:
        raise InvalidInput("Give the right label only when the prediction is wrong.", field="label")
    if label is not None and (len(label) > MAX_LABEL or (labels and label not in labels)):
        raise InvalidInput(
            f"Choose the right label from: {', '.join(labels[:20])}"
            f"{'…' if len(labels) > 20 else ''}.",
            field="label",
        )
    if len(comment) > MAX_COMMENT:
        raise LimitExceeded(
            f"The comment is longer than {MAX_COMMENT:,} characters.", field="comment"
        )
    made = Judgement(
        new_id(), queue_id, position, principal.user_id, correct, label, comment.strip(), now()
    )
    events: list[EventDraft] = [
        audit.event(principal, "review.judge", "review", queue_id, opened.queue.project_id)
    ]
    await store.reviews.judge(made, audit=events)
    await settle_checks(store, opened.queue.version_id)
    return made


async def settle_checks(store: Store, version_id: str) -> None:
    """Judge the version's review checks by its best-decided review, and move its alias if
    that opens its gate and its policy says so."""
    checks = [c for c in await store.models.checks([version_id]) if c.kind == "review"]
    if not checks:
        return
    counted = list((await tallies(store, await store.reviews.of_versions([version_id]))).values())
    best = max(counted, key=lambda t: t.decided, default=None)
    for check in checks:
        spec = check.spec
        assert spec.value is not None
        if best is None or best.decided < spec.samples:
            decided = best.decided if best else 0
            updated = dataclasses.replace(
                check,
                status="running" if decided else "queued",
                detail=f"{decided} of {spec.samples} samples decided so far.",
            )
        else:
            assert best.accuracy is not None
            passed = best.accuracy >= spec.value
            updated = dataclasses.replace(
                check,
                status="passed" if passed else "failed",
                ended_at=now(),
                detail=f"Reviewers judged {best.accuracy:.0%} of {best.decided} samples correct "
                f"(95 % interval {best.low:.0%} to {best.high:.0%}); "
                f"{'at least' if passed else 'below'} {spec.value:.0%}.",
            )
        if updated != check:
            await store.models.update_check(updated)
    version = (await store.models.versions_by_ids([version_id]))[version_id]
    await promotion.move_if_satisfied(store, version)


async def close(store: Store, principal: Principal, queue_id: str) -> ReviewQueue:
    """Stop taking verdicts (editors); the tally stays."""
    opened = await _open(store, principal, queue_id, WRITE, "review.close")
    if opened.queue.closed_at is not None:
        raise Conflict("This review is closed already.")
    at = now()
    events: list[EventDraft] = [
        audit.event(principal, "review.close", "review", queue_id, opened.queue.project_id),
        feed.entry(
            principal,
            "review.close",
            "model_version",
            opened.queue.version_id,
            opened.queue.project_id,
            f"closed the review of {opened.model} version {opened.version}",
        ),
    ]
    await store.reviews.close(queue_id, at, audit=events)
    return dataclasses.replace(opened.queue, closed_at=at)


async def publish(
    store: Store, settings: Settings, principal: Principal, queue_id: str, message: str = ""
) -> tuple[DatasetVersionRecord, bool]:
    """A new version of the predictions table, child of the reviewed one: every row, with the
    columns ``review_correct`` (the majority verdict; null on a tie or unreviewed),
    ``review_label`` (the right label: the prediction when judged correct, the reviewers' most
    given label otherwise) and ``review_count`` (editors of the dataset)."""
    opened = await _open(store, principal, queue_id, WRITE, "review.publish")
    await permissions.demand(
        store,
        principal,
        opened.found.project.id,
        opened.found.access,
        WRITE,
        action="review.publish",
        object_kind="dataset",
        object_id=opened.found.dataset.id,
    )
    rows = await store.reviews.items(queue_id)
    given = await _verdicts(store, opened.queue)
    if not given:
        raise InvalidInput("Nothing has been reviewed yet.")
    verdicts = []
    for position, judgements in given.items():
        said = majority([j.correct for j in judgements])
        wrong = [j.label for j in judgements if not j.correct and j.label]
        label = max(set(wrong), key=wrong.count) if wrong and said is False else None
        verdicts.append((rows[position], said, label, len(judgements)))
    names = [c.name for c in opened.record.schema]
    paths = await datasets.paths_of(store, await store.datasets.files(opened.record.id))
    merged = store.scratch_file(".parquet")
    try:
        await store.datasets.write_reviewed(
            paths, names, opened.queue.prediction_column, verdicts, merged
        )
        return await store_version(
            store,
            settings,
            principal,
            opened.found,
            merged,
            "parquet",
            f"review of {opened.model} version {opened.version}",
            message,
            opened.record.id,
            "dataset.publish",
        )
    finally:
        merged.unlink(missing_ok=True)
