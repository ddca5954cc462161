"""Many runs at once: the starts, points and ends a client's sender collected, stored in one
transaction.

A training process that starts runs by the hundred (a sweep, an import, a test suite) sends
them together: ``hub.init`` names each run with a UUIDv7 of its own, and the process-wide
sender carries the runs' starts, points and ends to :func:`apply` in batches. Everything is
idempotent, so a batch sent again after a lost answer changes nothing: a start whose run is
stored already, by the same person, is acknowledged; a chunk of points whose batch id is stored
is skipped; an end with the status the run has is a no-op.

A run the hub refuses (no right to its project, a bad name, a param too long) is named in the
answer with the reason, and the rest of the batch is stored: one run's mistake does not cost
the others their points.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.tracking import (
    ExperimentRecord,
    PointChunk,
    ProjectRecord,
    RunEnd,
    RunRecord,
    RunStart,
)
from hub.errors import Conflict, InvalidInput, LimitExceeded, SalonError
from hub.services.collaboration import tasks
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.services.tracking import projects
from hub.services.tracking.metric_batches import conform_batch
from hub.services.tracking.metrics import check_batch_id
from hub.services.tracking.runs import (
    NewRun,
    check_final_status,
    checked_start,
    end_events,
    new_record,
    start_events,
    writable_run,
)
from hub.store import Store

MAX_RUNS_PER_BATCH = 1_000


@dataclasses.dataclass(frozen=True, slots=True)
class Ending:
    """A run to end, as its client asked."""

    run_id: str
    status: str
    ended_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RunBatch:
    """What one request of a client's sender carries. Every start names its run's id."""

    starts: Sequence[NewRun] = ()
    chunks: Sequence[PointChunk] = ()
    endings: Sequence[Ending] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """Points stored, and the runs refused with why (their starts, points and ends, all)."""

    stored: int
    refused: dict[str, str]


def check_run_id(run_id: str) -> str:
    """A client-made run id: a UUIDv7 in its canonical form, so that ids still sort by time."""
    try:
        parsed = uuid.UUID(run_id)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"The run id {run_id!r} is not a UUID.", field="id") from None
    if parsed.version != 7 or str(parsed) != run_id:
        raise InvalidInput(
            f"The run id {run_id!r} is not a UUIDv7 in lower-case canonical form.", field="id"
        )
    return run_id


def _check_size(batch: RunBatch) -> None:
    named = {start.id for start in batch.starts}
    named |= {chunk.run_id for chunk in batch.chunks}
    named |= {ending.run_id for ending in batch.endings}
    if len(named) > MAX_RUNS_PER_BATCH:
        raise LimitExceeded(
            f"A batch names {len(named)} runs; the limit is {MAX_RUNS_PER_BATCH}. Send fewer runs "
            "a request."
        )


class _Refusals(dict[str, str]):
    def add(self, run_id: str, error: SalonError) -> None:
        self.setdefault(run_id, error.message)


async def apply(store: Store, principal: Principal, batch: RunBatch) -> Outcome:
    """Store the batch's starts, points and ends in one transaction; refused runs are left out,
    each with its reason."""
    _check_size(batch)
    refused = _Refusals()
    starts, experiments = await _starts(store, principal, batch.starts, refused)
    known: dict[str, RunRecord] = {start.run.id: start.run for start in starts}
    known.update(await _existing(store, principal, batch, known, refused))
    chunks = _chunks(batch.chunks, refused)
    endings = {e.run_id: e for e in batch.endings if e.run_id not in refused}
    for ending in endings.values():
        try:
            check_final_status(ending.status)
        except SalonError as error:
            refused.add(ending.run_id, error)
    started = {start.run.id for start in starts}
    starts = [_ended(s, endings.get(s.run.id)) for s in starts if s.run.id not in refused]
    chunks = [chunk for chunk in chunks if chunk.run_id not in refused]
    ends: list[RunEnd] = []
    ended: list[RunRecord] = []
    for run_id, ending in endings.items():
        run = known.get(run_id)
        if run_id in refused or run is None:
            continue
        if run_id not in started:  # an end of a run stored before: ends unless it has
            if run.status == ending.status:
                continue
            if run.status != "running":
                refused.add(
                    run_id,
                    Conflict(
                        f"Run {run.name!r} already ended {run.status}; a run's final status "
                        "does not change."
                    ),
                )
                continue
            ends.append(RunEnd(run_id, run.status, ending.status, _end_time(ending, run)))
            ended.append(run)
    events = await _events(store, principal, starts, experiments, ends, known, endings)
    stored, _ = await store.runs.apply_batch(starts, chunks, ends, audit=events.written)
    await tasks.close_with_runs(store, [r for r in ended if endings[r.id].status == "finished"])
    return Outcome(sum(stored.values()), dict(refused))


async def _starts(
    store: Store, principal: Principal, wanted: Sequence[NewRun], refused: _Refusals
) -> tuple[list[RunStart], dict[str, ExperimentRecord]]:
    """The runs to store, checked; a start of a run stored already is a re-send, not a start."""
    ids = [new.id for new in wanted if new.id]
    stored = await store.runs.by_ids(ids, trashed=True)
    places: dict[tuple[str, str], tuple[ProjectRecord, ExperimentRecord] | SalonError] = {}
    starts: list[RunStart] = []
    experiments: dict[str, ExperimentRecord] = {}
    for new in wanted:
        run_id = new.id or ""
        try:
            check_run_id(run_id)
            params, tags = checked_start(new)
            place = (new.project, new.experiment)
            if place not in places:
                places[place] = await _place(store, principal, *place)
            found = places[place]
            if isinstance(found, SalonError):
                raise found
            project, experiment = found
        except SalonError as error:
            refused.add(run_id, error)
            continue
        already = stored.get(run_id)
        if already is not None:
            if already.project_id != project.id or already.created_by != principal.user_name:
                refused.add(run_id, Conflict(f"The run id {run_id!r} is taken."))
            continue  # a start sent again: stored the first time
        if new.started_at:  # the client's clock, never ahead of the hub's
            new = dataclasses.replace(new, started_at=min(new.started_at, now()))
        run = new_record(principal, new, project, experiment)
        starts.append(RunStart(run, params, tags))
        experiments[run.id] = experiment
    return starts, experiments


async def _place(
    store: Store, principal: Principal, project_name: str, experiment_name: str
) -> tuple[ProjectRecord, ExperimentRecord] | SalonError:
    """The project and experiment runs start in, created when missing, or why not."""
    try:
        project = await projects.ensure_project(store, principal, project_name)
        experiment = await projects.ensure_experiment(store, principal, project, experiment_name)
    except SalonError as error:
        return error
    return project, experiment


async def _existing(
    store: Store,
    principal: Principal,
    batch: RunBatch,
    known: dict[str, RunRecord],
    refused: _Refusals,
) -> dict[str, RunRecord]:
    """The runs stored before that the batch logs to or ends, when the principal may."""
    named = dict.fromkeys(
        [chunk.run_id for chunk in batch.chunks] + [ending.run_id for ending in batch.endings]
    )
    found: dict[str, RunRecord] = {}
    for run_id in named:
        if run_id in known or run_id in refused:
            continue
        try:
            found[run_id] = await writable_run(store, principal, run_id, "run.batch")
        except SalonError as error:
            refused.add(run_id, error)
    return found


def _chunks(chunks: Sequence[PointChunk], refused: _Refusals) -> list[PointChunk]:
    checked = []
    for chunk in chunks:
        if chunk.run_id in refused:
            continue
        try:
            if chunk.batch_id is not None:
                check_batch_id(chunk.batch_id)
            checked.append(dataclasses.replace(chunk, points=conform_batch(chunk.points)))
        except SalonError as error:
            refused.add(chunk.run_id, error)
    return checked


def _end_time(ending: Ending, run: RunRecord) -> datetime:
    """When the client said the run ended, never before it started nor after now."""
    return max(run.started_at, min(ending.ended_at or now(), now()))


def _ended(start: RunStart, ending: Ending | None) -> RunStart:
    """A run started and ended in the same batch is stored ended."""
    if ending is None:
        return start
    run = dataclasses.replace(
        start.run, status=ending.status, ended_at=_end_time(ending, start.run)
    )
    return dataclasses.replace(start, run=run)


@dataclasses.dataclass
class _Events:
    """Each run's start, points and end as one at a time would have recorded them."""

    principal: Principal
    runs: dict[str, RunRecord]
    starts: dict[str, list[EventDraft]] = dataclasses.field(default_factory=dict)
    ends: dict[str, list[EventDraft]] = dataclasses.field(default_factory=dict)

    def written(self, result: tuple[dict[str, int], set[str]]) -> list[EventDraft]:
        """The events of what the transaction did: not of a start, points or an end stored
        already."""
        stored, repeated = result
        events: list[EventDraft] = []
        for run_id, drafts in self.starts.items():
            events += [] if run_id in repeated else drafts
        for run_id, rows in stored.items():
            run = self.runs[run_id]
            events.append(
                audit.event(
                    self.principal, "metrics.ingest", "run", run.id, run.project_id, rows=rows
                )
            )
        for run_id, drafts in self.ends.items():
            events += [] if run_id in repeated else drafts
        return events


async def _events(
    store: Store,
    principal: Principal,
    starts: Sequence[RunStart],
    experiments: dict[str, ExperimentRecord],
    ends: Sequence[RunEnd],
    known: dict[str, RunRecord],
    endings: dict[str, Ending],
) -> _Events:
    events = _Events(principal, known)
    for start in starts:
        run = start.run
        events.starts[run.id] = start_events(principal, run, experiments[run.id], at=run.started_at)
    ending_runs = [start.run for start in starts if start.run.ended_at is not None]
    ending_runs += [known[end.run_id] for end in ends]
    by_project: dict[str, set[str]] = {}
    for run in ending_runs:
        if run.project_id not in by_project:
            project = ("project", run.project_id)
            by_project[run.project_id] = await store.activity.watchers([project])
        watchers = by_project[run.project_id]
        if run.id not in experiments:  # stored before: someone may watch the run itself
            watchers = watchers | await store.activity.watchers([("run", run.id)])
        ending = endings[run.id]
        events.ends[run.id] = end_events(
            principal, run, ending.status, watchers, _end_time(ending, run)
        )
    return events
