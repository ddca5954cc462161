"""Runs: starting, finishing, annotating and searching."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from hub.clock import now
from hub.domain.audit import AuditDraft, EventDraft
from hub.domain.tracking import (
    RUN_STATUSES,
    ExperimentRecord,
    KeyValue,
    MetricSummary,
    ProjectRecord,
    RunEnvironment,
    RunInputRecord,
    RunPage,
    RunRecord,
)
from hub.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.run_filter import Filter, SortKey, parse_filter, parse_sort
from hub.services.collaboration import tasks
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import (
    MAX_NOTES,
    MAX_PACKAGES,
    MAX_PARAM_VALUE,
    MAX_PARAMS_PER_CALL,
    MAX_TAG_VALUE,
    MAX_TAGS_PER_CALL,
    check_name,
    check_pairs,
)
from hub.services.policy.pagination import decode_cursor, encode_cursor
from hub.services.policy.permissions import READ, WRITE
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import projects
from hub.services.tracking.metric_batches import conform_batch
from hub.store import Store

MAX_INPUTS_PER_CALL = 100
FINAL_STATUSES = tuple(s for s in RUN_STATUSES if s != "running")


@dataclasses.dataclass(frozen=True, slots=True)
class NewRun:
    """What a client sends to start a run."""

    project: str
    experiment: str
    name: str | None = None
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: str = ""
    user_name: str | None = None  # whose run it is, when Salon itself writes it (the demo)
    environment: RunEnvironment = dataclasses.field(default_factory=RunEnvironment)
    started_at: datetime | None = None  # set when importing history; default: now
    id: str | None = None  # chosen by a client that creates runs in batches; default: a new one


def _check_notes(notes: str) -> str:
    if len(notes) > MAX_NOTES:
        raise LimitExceeded(
            f"Notes are {len(notes)} characters long; the limit is {MAX_NOTES}.", field="notes"
        )
    return notes


async def create_run(store: Store, principal: Principal, new: NewRun) -> RunRecord:
    """Start a run, creating its project and experiment when they do not exist yet."""
    params, tags = checked_start(new)
    project = await projects.ensure_project(store, principal, new.project)
    experiment = await projects.ensure_experiment(store, principal, project, new.experiment)
    run = new_record(principal, new, project, experiment)
    events = start_events(principal, run, experiment, at=new.started_at)
    await store.runs.create(run, params, tags, audit=events)
    return run


def checked_start(new: NewRun) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The params and tags of a run to start, once its limits are checked."""
    params = check_pairs(new.params.items(), "param", MAX_PARAM_VALUE, MAX_PARAMS_PER_CALL)
    tags = check_pairs(new.tags.items(), "tag", MAX_TAG_VALUE, MAX_TAGS_PER_CALL)
    if len(new.environment.packages) > MAX_PACKAGES:
        raise LimitExceeded(f"At most {MAX_PACKAGES} packages may be recorded.", field="packages")
    if new.name:
        check_name(new.name, "run")
    _check_notes(new.notes)
    return params, tags


def new_record(
    principal: Principal, new: NewRun, project: ProjectRecord, experiment: ExperimentRecord
) -> RunRecord:
    """The run ``new`` asks for, running, with the id its client chose or a new one."""
    run_id = new.id or new_id()
    return RunRecord(
        id=run_id,
        project_id=project.id,
        experiment_id=experiment.id,
        name=check_name(new.name, "run") if new.name else f"run-{run_id[-6:]}",
        status="running",
        user_name=(
            new.user_name
            if principal.user_id == SYSTEM.user_id and new.user_name
            else principal.user_name
        ),  # a person's runs are their own
        notes=_check_notes(new.notes),
        started_at=new.started_at or now(),
        ended_at=None,
        environment=new.environment,
        created_by=principal.user_name,
    )


def start_events(
    principal: Principal,
    run: RunRecord,
    experiment: ExperimentRecord,
    at: datetime | None = None,
) -> list[EventDraft]:
    """The audit event and feed entry of a run started (``at``: when, if not now)."""
    return [
        audit.event(principal, "run.create", "run", run.id, run.project_id, rows=1),
        feed.entry(
            principal,
            "run.create",
            "run",
            run.id,
            run.project_id,
            f"started run {run.name} in {experiment.name}",
            detail={"experiment": experiment.name},
            at=at,
        ),
    ]


async def visible_runs(
    store: Store, principal: Principal, run_ids: list[str], action: str
) -> list[RunRecord]:
    """The runs with these ids, in the given order, when the principal may read them all;
    otherwise NotFound naming the first one missing or hidden (the denial is audited). Not
    itself audited as a read: callers record what they then read."""
    found = await store.runs.by_ids(list(dict.fromkeys(run_ids)))
    readable = await permissions.readable_projects(
        store, principal, {run.project_id for run in found.values()}
    )
    for run_id in run_ids:
        run = found.get(run_id)
        if run is None or run.project_id not in readable:
            await audit.deny(
                store, principal, action, "run", run_id, None if run is None else run.project_id
            )
            raise NotFound(f"No run with id {run_id!r}.", field="runId")
    return [found[run_id] for run_id in run_ids]


async def readable_run(store: Store, principal: Principal, run_id: str) -> RunRecord | None:
    """The run ``run_id`` names when the principal may read it, else None, without recording a
    denial: for a run id that may well name no Salon run at all (another system's, given to
    MLflow's registry), where the caller then records what it did."""
    run = (await store.runs.by_ids([run_id])).get(run_id)
    if run is None or not await permissions.readable_projects(store, principal, [run.project_id]):
        return None
    return run


async def record_read(
    store: Store, principal: Principal, action: str, runs: Sequence[RunRecord], rows: int
) -> None:
    """One audit event per project the runs belong to."""
    by_project: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_project[run.project_id].append(run)
    events = []
    for project_id, found in by_project.items():
        object_id = found[0].id if len(found) == 1 else None
        count = rows if len(by_project) == 1 else len(found)
        events.append(audit.event(principal, action, "run", object_id, project_id, rows=count))
    await store.audit.record(events)


async def get_runs(store: Store, principal: Principal, run_ids: list[str]) -> list[RunRecord]:
    """The runs with these ids, in the given order; NotFound if any is missing or hidden."""
    runs = await visible_runs(store, principal, run_ids, "run.read")
    await record_read(store, principal, "run.read", runs, len(runs))
    return runs


async def get_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    return (await get_runs(store, principal, [run_id]))[0]


async def writable_run(store: Store, principal: Principal, run_id: str, action: str) -> RunRecord:
    """The run, when the principal may change it (editor or above on its project)."""
    run = (await visible_runs(store, principal, [run_id], action))[0]
    await permissions.require(
        store,
        principal,
        run.project_id,
        WRITE,
        action=action,
        object_kind="run",
        object_id=run.id,
        what="run",
    )
    return run


def _event(principal: Principal, action: str, run: RunRecord, rows: int) -> list[AuditDraft]:
    return [audit.event(principal, action, "run", run.id, run.project_id, rows=rows)]


def check_final_status(status: str) -> str:
    """A status that can end a run: finished, failed or killed."""
    if status not in FINAL_STATUSES:
        raise InvalidInput(
            f"Status {status!r} cannot end a run; use one of {', '.join(FINAL_STATUSES)}.",
            field="status",
        )
    return status


async def finish_run(
    store: Store,
    principal: Principal,
    run_id: str,
    status: str,
    ended_at: datetime | None = None,
    *,
    may_change: bool = False,
) -> RunRecord:
    """Mark a running run finished, failed or killed.

    A final status is final: ending the run again with the same status changes nothing (a
    client retrying its finish), with another status raises Conflict, so a run someone marked
    failed does not turn finished when its script exits. ``may_change`` keeps MLflow's API,
    where ``update_run`` may set an ended run's status again.
    """
    check_final_status(status)
    run = await writable_run(store, principal, run_id, "run.finish")
    if run.status == status:
        return run
    if run.status != "running" and not may_change:
        raise Conflict(
            f"Run {run.name!r} already ended {run.status}; a run's final status does not change.",
            field="status",
        )
    watchers = await store.activity.watchers([("run", run.id), ("project", run.project_id)])
    events = end_events(principal, run, status, watchers, ended_at)
    finished = await audit.change(
        store,
        events,
        store.runs.finish(run_id, status, ended_at or now(), was=run.status, audit=events),
    )
    if status == "finished" and run.status == "running":
        await tasks.close_with_runs(store, [run])
    return finished


def end_events(
    principal: Principal,
    run: RunRecord,
    status: str,
    watchers: set[str],
    at: datetime | None = None,
) -> list[EventDraft]:
    """The audit event of a run ended, and its feed entry, which reaches ``watchers``."""
    return [
        *_event(principal, "run.finish", run, 1),
        feed.entry(
            principal,
            "run.finish",
            "run",
            run.id,
            run.project_id,
            f"run {run.name} ended: {status}",
            detail={"status": status},
            recipients=[(user_id, "watch") for user_id in sorted(watchers)],
            at=at,
        ),
    ]


async def resume_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    """Set an ended run running again, as a training job resumed from a checkpoint does."""
    run = await writable_run(store, principal, run_id, "run.resume")
    if run.status == "running":
        return run
    events: list[EventDraft] = [
        *_event(principal, "run.resume", run, 1),
        feed.entry(
            principal, "run.resume", "run", run.id, run.project_id, f"run {run.name} resumed"
        ),
    ]
    return await audit.change(store, events, store.runs.resume(run_id, audit=events))


async def log_params(
    store: Store, principal: Principal, run_id: str, params: Mapping[str, str]
) -> RunRecord:
    checked = check_pairs(params.items(), "param", MAX_PARAM_VALUE, MAX_PARAMS_PER_CALL)
    run = await writable_run(store, principal, run_id, "run.log_params")
    events = _event(principal, "run.log_params", run, len(checked))
    await audit.change(store, events, store.runs.add_params(run_id, checked, audit=events))
    return run


async def set_tags(
    store: Store, principal: Principal, run_id: str, tags: Mapping[str, str]
) -> RunRecord:
    checked = check_pairs(tags.items(), "tag", MAX_TAG_VALUE, MAX_TAGS_PER_CALL)
    run = await writable_run(store, principal, run_id, "run.set_tags")
    events = _event(principal, "run.set_tags", run, len(checked))
    await audit.change(store, events, store.runs.set_tags(run_id, checked, audit=events))
    return run


async def delete_tag(store: Store, principal: Principal, run_id: str, key: str) -> RunRecord:
    """Remove one tag (editors of the run's project); NotFound when the run has none."""
    run = await writable_run(store, principal, run_id, "run.delete_tag")
    events = _event(principal, "run.delete_tag", run, 1)
    await audit.change(store, events, store.runs.delete_tag(run_id, key, audit=events))
    return run


async def rename_run(store: Store, principal: Principal, run_id: str, name: str) -> RunRecord:
    """Give the run another name (editors); runs' names need not be unique, as in MLflow."""
    name = check_name(name, "run")
    run = await writable_run(store, principal, run_id, "run.rename")
    if name == run.name:
        return run
    events = _event(principal, "run.rename", run, 1)
    return await audit.change(store, events, store.runs.rename(run_id, name, audit=events))


async def set_notes(store: Store, principal: Principal, run_id: str, notes: str) -> RunRecord:
    notes = _check_notes(notes)
    run = await writable_run(store, principal, run_id, "run.set_notes")
    if notes == run.notes:
        return run
    watchers = await store.activity.watchers([("run", run.id), ("project", run.project_id)])
    events: list[EventDraft] = [
        *_event(principal, "run.set_notes", run, 1),
        feed.entry(
            principal,
            "run.set_notes",
            "run",
            run.id,
            run.project_id,
            f"changed the notes of run {run.name}",
            detail={"excerpt": notes[:200]},
            recipients=[
                (user_id, "watch") for user_id in sorted(watchers) if user_id != principal.user_id
            ],
        ),
    ]
    return await audit.change(store, events, store.runs.set_notes(run_id, notes, audit=events))


async def search_runs(
    store: Store,
    principal: Principal,
    project: str | None,
    filter_text: str | None,
    order_by: list[str] | None,
    first: int,
    after: str | None,
    max_page_size: int,
    count: bool = True,
) -> RunPage:
    """A page of runs matching the filter language (see ``hub.run_filter``); with ``count``,
    how many match in all."""
    _check_page_size(first, max_page_size)
    where = parse_filter(filter_text)
    sort = parse_sort(order_by)
    if project is not None:
        project_ids = [(await projects.visible_project(store, principal, project)).id]
    else:
        every = [p.id for p in await store.projects.all()]
        project_ids = sorted(await permissions.readable_projects(store, principal, every))
    query = repr((project_ids, filter_text, order_by))
    only = project_ids[0] if project is not None else None
    return await search_parsed(
        store, principal, project_ids, where, sort, first, after, query, only, count
    )


def _check_page_size(first: int, max_page_size: int) -> None:
    if first < 0 or first > max_page_size:
        raise LimitExceeded(
            f"Ask for between 0 and {max_page_size} runs per page (got {first}); "
            "use the 'after' cursor for more.",
            field="first",
        )


async def search_parsed(
    store: Store,
    principal: Principal,
    project_ids: list[str],
    where: Filter | None,
    sort: list[SortKey],
    first: int,
    after: str | None,
    query: str,
    only: str | None = None,
    count: bool = True,
    view: str = "live",
) -> RunPage:
    """A page of runs of projects the caller has been allowed to read; ``query`` names the
    search for its cursors, ``only`` is the project it is audited against (if one); ``view``
    says whether runs in the trash are left out (live), alone shown (trashed) or shown (all)."""
    offset, snapshot = decode_cursor(after, query)
    page = await store.runs.search(project_ids, where, sort, first, offset, snapshot, count, view)
    await audit.read(store, principal, "runs.search", "project", only, only, len(page.runs))
    if page.next_offset is None:
        return page
    return dataclasses.replace(
        page, next_cursor=encode_cursor(page.next_offset, page.snapshot, query)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RunDetails:
    """What goes with a list of runs, keyed by run id (params, tags, metrics) or by id."""

    params: dict[str, list[KeyValue]]
    tags: dict[str, list[KeyValue]]
    metrics: dict[str, list[MetricSummary]]
    projects: dict[str, ProjectRecord]
    experiments: dict[str, ExperimentRecord]


def _by_run(items: Sequence[KeyValue | MetricSummary]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        grouped[item.run_id].append(item)
    return grouped


async def details(store: Store, principal: Principal, runs: list[RunRecord]) -> RunDetails:
    """Params, tags, latest metrics, projects and experiments of runs the caller has already
    been shown (their permissions were checked then), in five queries run side by side."""
    ids = [run.id for run in runs]
    params, tags, summaries, found_projects, experiments = await asyncio.gather(
        store.runs.params_for(ids),
        store.runs.tags_for(ids),
        store.metrics.summaries(ids),
        store.projects.by_ids(list({run.project_id for run in runs})),
        store.projects.experiments_by_ids(list({run.experiment_id for run in runs})),
    )
    return RunDetails(
        _by_run(params), _by_run(tags), _by_run(summaries), found_projects, experiments
    )


async def param_keys(store: Store, principal: Principal, project_id: str) -> list[str]:
    """Names of every param logged in a project."""
    await permissions.require(
        store,
        principal,
        project_id,
        READ,
        action="params.keys",
        object_kind="project",
        object_id=project_id,
    )
    keys = await store.runs.param_keys(project_id)
    await audit.read(store, principal, "params.keys", "project", project_id, project_id, len(keys))
    return keys


async def log_batch(
    store: Store,
    principal: Principal,
    run_id: str,
    params: Sequence[tuple[str, str]],
    tags: Sequence[tuple[str, str]],
    points: pa.Table,
) -> RunRecord:
    """Params, tags and metric points (``metrics.BATCH_SCHEMA``) in one transaction, as MLflow's
    log-batch: all are stored or, on a bad item or a changed param, none."""
    checked_params = check_pairs(params, "param", MAX_PARAM_VALUE, MAX_PARAMS_PER_CALL)
    checked_tags = check_pairs(tags, "tag", MAX_TAG_VALUE, MAX_TAGS_PER_CALL)
    points = conform_batch(points)
    run = await writable_run(store, principal, run_id, "run.log_batch")
    rows = len(checked_params) + len(checked_tags) + points.num_rows
    events = _event(principal, "run.log_batch", run, rows)
    await audit.change(
        store,
        events,
        store.runs.log_batch(run_id, checked_params, checked_tags, points, audit=events),
    )
    return run


async def log_inputs(
    store: Store, principal: Principal, run_id: str, inputs: Sequence[RunInputRecord]
) -> RunRecord:
    """Datasets the run read (MLflow's ``log_input``)."""
    if len(inputs) > MAX_INPUTS_PER_CALL:
        raise LimitExceeded(f"At most {MAX_INPUTS_PER_CALL} datasets per call.", field="datasets")
    run = await writable_run(store, principal, run_id, "run.log_inputs")
    events = _event(principal, "run.log_inputs", run, len(inputs))
    await audit.change(store, events, store.runs.add_inputs(inputs, audit=events))
    return run
