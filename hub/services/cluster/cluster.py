"""The GPU cluster: its state now, its history, who used what, and jobs submitted through
Salon.

:class:`Sampler` reads the cluster every ``SALON_RAY_SAMPLE_SECONDS`` (nodes and jobs) into
Salon's store, so usage can be charted over months and survives the head node going away; a
cluster that does not answer is recorded as such and shown, never a crash. Accounting counts
each job's GPUs and CPUs over its own start and end time, by person (the job's ``user``),
project or team (the person's groups); jobs Salon did not submit show their submitter as Ray's
metadata names it, or ``unknown``.

Everyone signed in sees the cluster and its usage (a shared machine is fairly shared only when
everyone sees who uses it); a job's command and logs are for readers of its project.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from connectors.base import ConnectorError
from connectors.ray import Holder, Job, Node, RayCluster
from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.cluster import ClusterCheck, ClusterJob, NodeSample, Usage
from hub.domain.tracking import ProjectRecord
from hub.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    StoreUnavailable,
)
from hub.ids import new_id
from hub.services.collaboration import activity
from hub.services.data import datasets
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import MANAGE, WRITE
from hub.services.policy.principal import Principal
from hub.services.tracking import runs
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.cluster")
T = TypeVar("T")
BY = ("person", "project", "team", "run", "model")
# What people see of the cluster's use by projects they may not read: totals under one name.
OTHER_PROJECTS = "other projects"
HIDDEN = "(hidden: not your project)"
MAX_ENTRYPOINT = 5000
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def connect(settings: Settings) -> RayCluster | None:
    if not settings.ray_address:
        return None
    return RayCluster(settings.ray_address, settings.ray_token.get_secret_value())


def _number(text: str | None) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


def as_record(job: Job, at: datetime) -> ClusterJob:
    meta = job.metadata
    return ClusterJob(
        job.submission_id,
        job.status,
        job.entrypoint,
        meta.get("user") or "unknown",
        meta.get("project") or None,
        _number(meta.get("gpus")),
        _number(meta.get("cpus")),
        meta.get("run_id") or None,
        None,
        job.started_at,
        job.ended_at,
        job.message[:500],
        at,
    )


def samples(nodes: list[Node], at: datetime) -> list[NodeSample]:
    return [
        NodeSample(
            at,
            n.node_id,
            n.address,
            n.alive,
            n.cpus,
            n.cpus_used,
            n.gpus,
            n.gpus_used,
            n.gpu_utilization,
            n.gpu_memory_used_mb,
            n.gpu_memory_total_mb,
            n.name or n.address,
            n.is_head,
        )
        for n in nodes
    ]


async def record_sample(store: Store, settings: Settings, cluster: RayCluster) -> bool:
    """One look at the cluster, recorded; whether it answered."""
    at = now()
    try:
        nodes = await asyncio.to_thread(cluster.nodes)
        jobs = await asyncio.to_thread(cluster.jobs)
    except ConnectorError as exc:
        await store.cluster.failed(at, exc.message)
        return False
    await store.cluster.sampled(
        samples(nodes, at), [as_record(j, at) for j in jobs], at, settings.ray_retention_days
    )
    return True


# Reading ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    configured: bool
    check: ClusterCheck | None
    last_answer: datetime | None
    nodes: list[NodeSample]


async def state(store: Store, settings: Settings, principal: Principal) -> State:
    """The cluster as last seen. While it does not answer, no node is shown alive: the last
    sample says what was there, not what is (``lastAnswerAt`` says when it last answered)."""
    check, last = await store.cluster.last_check()
    nodes = await store.cluster.latest_nodes()
    if check is not None and not check.ok:
        nodes = [dataclasses.replace(node, alive=False, cpus_used=0, gpus_used=0) for node in nodes]
    await audit.read(store, principal, "cluster.read", "cluster", None, None, len(nodes))
    return State(bool(settings.ray_address), check, last, nodes)


async def history(
    store: Store, principal: Principal, since: datetime, until: datetime, buckets: int = 200
) -> list[tuple[datetime, float, float]]:
    if until <= since:
        raise InvalidInput("The end of the range must come after its start.", field="until")
    if not 1 <= buckets <= 2000:
        raise LimitExceeded("Ask for 1 to 2,000 buckets.", field="buckets")
    found = await store.cluster.history(since, until, buckets)
    await audit.read(store, principal, "cluster.history", "cluster", None, None, len(found))
    return found


async def usage(
    store: Store, principal: Principal, since: datetime, until: datetime, period: str, by: str
) -> list[Usage]:
    """GPU- and CPU-hours per period by person, project or team (a person in two teams
    counts for both)."""
    if period not in ("day", "week", "month"):
        raise InvalidInput("The period is day, week or month.", field="period")
    if by not in BY:
        raise InvalidInput(f"Group usage by {', '.join(BY)}.", field="by")
    if until <= since or until - since > timedelta(days=3700):
        raise InvalidInput(
            "Give a range of up to ten years, its end after its start.", field="until"
        )
    grouped = {"team": "person", "model": "run", "person": "person_project"}.get(by, by)
    rows = await store.cluster.usage(since, until, period, grouped)
    if by in ("person", "project"):
        rows = await _by_readable(store, principal, rows, by)
    elif by == "team":
        rows = await _by_team(store, rows)
    elif by == "run":
        rows = await _by_run(store, principal, rows)
    elif by == "model":
        rows = await _by_model(store, principal, rows)
    await audit.read(store, principal, "cluster.usage", "cluster", None, None, len(rows))
    return rows


def _regroup(rows: list[Usage], names_of: Callable[[str], list[str]]) -> list[Usage]:
    """The rows summed under new names (one row may count under several)."""
    summed: dict[tuple[datetime, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in rows:
        for name in names_of(row.who):
            total = summed[(row.period, name)]
            total[0] += row.gpu_hours
            total[1] += row.cpu_hours
            total[2] += row.jobs
    return [
        Usage(period, name, g, c, int(n)) for (period, name), (g, c, n) in sorted(summed.items())
    ]


async def _by_run(store: Store, principal: Principal, rows: list[Usage]) -> list[Usage]:
    """Rows named by run (the cost of each run); runs the principal may not see, and jobs
    for no run, are summed under one name each."""
    found = await store.runs.by_ids(sorted({r.who for r in rows if r.who}))
    projects = {run.project_id for run in found.values()}
    readable = await permissions.readable_projects(store, principal, projects)

    def name(run_id: str) -> list[str]:
        run = found.get(run_id)
        if not run_id:
            return ["no run"]
        return [run.name if run and run.project_id in readable else "runs you may not see"]

    return _regroup(rows, name)


async def _by_model(store: Store, principal: Principal, rows: list[Usage]) -> list[Usage]:
    """Rows named by model: what the runs behind each model's versions cost (a run behind two
    models counts for both); runs of no model, and models the principal may not see, are summed
    under one name each."""
    versions = await store.models.versions_of_runs(sorted({r.who for r in rows if r.who}))
    found = await store.models.by_ids(sorted({v.model_id for v in versions}))
    projects = {m.project_id for m in found.values()}
    readable = await permissions.readable_projects(store, principal, projects)
    models_of: dict[str, set[str]] = defaultdict(set)
    for version in versions:
        model = found[version.model_id]
        models_of[version.run_id or ""].add(
            model.name if model.project_id in readable else "models you may not see"
        )
    return _regroup(rows, lambda run_id: sorted(models_of.get(run_id, ())) or ["no model"])


async def _by_readable(
    store: Store, principal: Principal, rows: list[Usage], by: str
) -> list[Usage]:
    """Rows by person or project where the principal may read the project (or the job had
    none); everything done in other projects is one total, named :data:`OTHER_PROJECTS`."""
    names = await readable_project_names(store, principal)

    def name(who: str) -> list[str]:
        person, _, project = who.partition("\x1f") if by == "person" else ("", "", who)
        if project and project != "no project" and project not in names:
            return [OTHER_PROJECTS]
        return [person if by == "person" else project]

    return _regroup(rows, name)


async def _by_team(store: Store, rows: list[Usage]) -> list[Usage]:
    people = {u.name: u.id for u in await store.users.all()}
    groups = {g.id: g.name for g in await store.users.groups()}
    members = await store.users.group_members(sorted(groups))
    teams_of: dict[str, list[str]] = defaultdict(list)
    for group_id, user_ids in members.items():
        for user_id in user_ids:
            teams_of[user_id].append(groups[group_id])
    return _regroup(rows, lambda who: teams_of.get(people.get(who, ""), []) or ["no team"])


async def readable_project_names(store: Store, principal: Principal) -> set[str]:
    """The names of the projects the principal may read (jobs carry project names)."""
    readable = await activity.readable(store, principal)
    return {p.name for p in (await store.projects.by_ids(sorted(readable))).values()}


async def jobs(
    store: Store, principal: Principal, limit: int = 200, run_id: str | None = None
) -> list[ClusterJob]:
    """Recent jobs, newest first (of one run, if ``run_id``). Jobs of projects the principal
    may not read show no command."""
    if run_id is not None:
        await runs.visible_runs(store, principal, [run_id], "cluster.jobs")
    found = await store.cluster.jobs(min(max(limit, 1), 1000), run_id)
    names = await readable_project_names(store, principal)
    shown = [j if j.project is None or j.project in names else hidden(j) for j in found]
    await audit.read(store, principal, "cluster.jobs", "cluster", None, None, len(shown))
    return shown


def hidden(job: ClusterJob) -> ClusterJob:
    """A job of a project the principal may not read: its use of the cluster, and nothing of
    who ran what where (no project, person, command, run or message)."""
    return dataclasses.replace(
        job,
        project=OTHER_PROJECTS,
        user_name="",
        submitted_by=None,
        run_id=None,
        entrypoint=HIDDEN,
        message="",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class GpuHolder:
    """An actor or task holding GPUs now, with the submitted job it runs for (None: outside
    any, as under a notebook's ``ray.init()``)."""

    holder: Holder
    job: ClusterJob | None


async def gpu_holders(store: Store, settings: Settings, principal: Principal) -> list[GpuHolder]:
    """Who holds the cluster's GPUs right now, asked of the cluster itself. Holders of jobs in
    projects the principal may not read show no name."""
    found = await ask(settings, RayCluster.gpu_holders)
    known = {j.submission_id: j for j in await store.cluster.jobs(1000)}
    names = await readable_project_names(store, principal)
    shown = []
    for holder in found:
        job = known.get(holder.submission_id or "")
        if job is not None and job.project is not None and job.project not in names:
            holder, job = dataclasses.replace(holder, name=HIDDEN), hidden(job)
        shown.append(GpuHolder(holder, job))
    shown.sort(key=lambda h: (h.job is not None, -h.holder.gpus, h.holder.name))
    await audit.read(store, principal, "cluster.holders", "cluster", None, None, len(shown))
    return shown


# Submitting ----------------------------------------------------------------------------------


async def ask(settings: Settings, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(cluster, ...)`` on a worker thread; the cluster missing or failing becomes
    StoreUnavailable with its reason."""
    cluster = connect(settings)
    if cluster is None:
        raise StoreUnavailable("This hub has no Ray cluster (SALON_RAY_ADDRESS is empty).")
    try:
        return await asyncio.to_thread(call, cluster, *args, **kwargs)
    except ConnectorError as exc:
        raise StoreUnavailable(exc.message) from None
    finally:
        cluster.close()


async def submit(
    store: Store,
    settings: Settings,
    principal: Principal,
    project: str,
    entrypoint: str,
    gpus: float = 0,
    cpus: float = 1,
    run_id: str | None = None,
) -> ClusterJob:
    """Run ``entrypoint`` on the cluster for a project (editors and up), with the person and
    project attached so the usage is theirs."""
    found = await datasets.find_project(store, principal, project, "job.submit")
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        WRITE,
        action="job.submit",
        object_kind="job",
    )
    if not entrypoint.strip() or len(entrypoint) > MAX_ENTRYPOINT:
        raise InvalidInput(
            f"Give the command to run (up to {MAX_ENTRYPOINT:,} characters).", field="entrypoint"
        )
    if not 0 <= gpus <= 64 or not 0 <= cpus <= 256:
        raise InvalidInput("Ask for 0 to 64 GPUs and 0 to 256 CPUs.", field="gpus")
    if run_id is not None:
        (run,) = await runs.visible_runs(store, principal, [run_id], "job.submit")
        if run.project_id != found.project.id:
            raise InvalidInput("That run is in another project.", field="runId")
    try:
        return await launch(
            store,
            settings,
            found.project,
            principal.user_name,
            principal.user_id,
            entrypoint,
            gpus,
            cpus,
            run_id,
            events=lambda job: [
                audit.event(principal, "job.submit", "job", job.submission_id, found.project.id),
                feed.entry(
                    principal,
                    "job.submit",
                    "job",
                    job.submission_id,
                    found.project.id,
                    f"submitted a job asking for {gpus:g} GPU(s): {entrypoint[:80]}",
                    detail={"gpus": gpus, "cpus": cpus},
                ),
            ],
        )
    except StoreUnavailable:
        await audit.deny(store, principal, "job.submit", "job", None, found.project.id)
        raise


async def launch(
    store: Store,
    settings: Settings,
    project: ProjectRecord,
    user_name: str,
    user_id: str,
    entrypoint: str,
    gpus: float,
    cpus: float,
    run_id: str | None,
    *,
    events: Callable[[ClusterJob], Sequence[EventDraft]],
    env: dict[str, str] | None = None,
) -> ClusterJob:
    """Submit ``entrypoint`` for a person and project once it fits the bookings and quota
    (Conflict otherwise), and record the job with ``events(job)``."""
    await _fits(store, project.id, project.name, gpus)
    submission_id = f"salon-{new_id()}"
    metadata = {
        "user": user_name,
        "project": project.name,
        "gpus": f"{gpus:g}",
        "cpus": f"{cpus:g}",
    }
    if run_id:
        metadata["run_id"] = run_id
    await ask(
        settings,
        RayCluster.submit,
        submission_id,
        entrypoint,
        gpus=gpus,
        cpus=cpus,
        metadata=metadata,
        env=env,
    )
    job = ClusterJob(
        submission_id,
        "PENDING",
        entrypoint,
        user_name,
        project.name,
        gpus,
        cpus,
        run_id,
        user_id,
        None,
        None,
        "",
        now(),
    )
    await store.cluster.record_job(job, audit=events(job))
    return job


async def _fits(store: Store, project_id: str, project: str, gpus: float) -> None:
    """Refuse a job that would take GPUs booked by other projects right now, or go past the
    project's quota with what it already runs."""
    if gpus <= 0:
        return
    at = now()
    capacity = sum(n.gpus for n in await store.cluster.latest_nodes() if n.alive)
    booked = [
        b
        for b in await store.bookings.between(at, at + timedelta(seconds=1))
        if b.project_id != project_id
    ]
    held = sum(b.gpus for b in booked)
    if capacity and held + gpus > capacity:
        until = min(b.ends_at for b in booked)
        raise Conflict(
            f"{held:g} of the cluster's {capacity:g} GPUs are booked by other projects until "
            f"{until:%H:%M} UTC; ask for {max(capacity - held, 0):g} or fewer, or book a slot.",
            field="gpus",
        )
    quota = next(
        (
            q
            for q in await store.bookings.quotas()
            if q.scope_kind == "project" and q.scope_id == project_id
        ),
        None,
    )
    if quota is not None:
        running = sum(
            j.gpus
            for j in await store.cluster.jobs(1000)
            if j.project == project and j.status in ("PENDING", "RUNNING")
        )
        if running + gpus > quota.gpus:
            raise Conflict(
                f"The project's quota is {quota.gpus:g} GPUs and its jobs already use {running:g}.",
                field="gpus",
            )


async def _own_job(
    store: Store, principal: Principal, submission_id: str, action: str, manage: bool
) -> ClusterJob:
    if not SAFE_ID.match(submission_id):
        raise InvalidInput("That is not a job id.", field="id")
    job = await store.cluster.job(submission_id)
    project = await store.projects.by_name(job.project) if job and job.project else None
    held = await permissions.access_to(store, principal, project.id) if project else None
    if (
        job is None
        or (project is not None and held is None)
        or (project is None and not principal.is_admin)
    ):
        await audit.deny(store, principal, action, "job", submission_id)
        raise NotFound(f"No job with id {submission_id!r}.", field="id")
    mine = job.submitted_by == principal.user_id
    if manage and not (mine or principal.is_admin or (held and held.allows(MANAGE))):
        await audit.deny(
            store, principal, action, "job", submission_id, project.id if project else None
        )
        raise Forbidden(
            "Only whoever submitted a job, a project maintainer or an admin can stop it."
        )
    return job


async def stop(store: Store, settings: Settings, principal: Principal, submission_id: str) -> bool:
    job = await _own_job(store, principal, submission_id, "job.stop", manage=True)
    stopped = await ask(settings, RayCluster.stop, job.submission_id)
    project = await store.projects.by_name(job.project) if job.project else None
    events: list[EventDraft] = [
        audit.event(
            principal, "job.stop", "job", job.submission_id, project.id if project else None
        )
    ]
    if project is not None:
        events.append(
            feed.entry(
                principal,
                "job.stop",
                "job",
                job.submission_id,
                project.id,
                f"stopped a job: {job.entrypoint[:80]}",
            )
        )
    await store.cluster.note(events)
    return stopped


async def logs(store: Store, settings: Settings, principal: Principal, submission_id: str) -> str:
    job = await _own_job(store, principal, submission_id, "job.logs", manage=False)
    text = await ask(settings, RayCluster.logs, job.submission_id)
    await audit.read(store, principal, "job.logs", "job", job.submission_id, None, 1)
    return text[-200_000:]
