"""GPU quotas and bookings: planning around each other on a shared cluster.

Site admins set GPU quotas per project or per team (a Salon group). People book GPUs for a time
slot in their own time zone ("4 GPUs, Tuesday 09:00 to 17:00, Europe/Berlin"); a booking is
refused, with the reason, when it would book more GPUs than the cluster has at some moment, or
more than a quota allows. Times that do not exist (clocks going forward) or happen twice
(clocks going back) are refused rather than guessed. A booking with nothing running under it
for ``SALON_BOOKING_GRACE_MINUTES`` is flagged idle and released.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.cluster import Booking, Quota
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.ids import new_id
from hub.services.cluster import cluster
from hub.services.data import datasets
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import MANAGE, WRITE
from hub.services.policy.principal import SYSTEM, Principal
from hub.store import Store

MAX_LENGTH = timedelta(days=14)
MAX_AHEAD = timedelta(days=366)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{name!r} is not a time zone name like Europe/Berlin.", field="timeZone"
        ) from None


def to_utc(local: datetime, zone: ZoneInfo, field: str) -> datetime:
    """A wall-clock time in ``zone`` as UTC; refused when the clock skips it or shows it twice."""
    if local.tzinfo is not None:
        return local.astimezone(ZoneInfo("UTC"))
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    back_first = first.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    if back_first != local:
        raise InvalidInput(
            f"{local:%d %b %Y %H:%M} does not exist in {zone.key}: the clocks go forward then. "
            "Pick a time before or after the change.",
            field=field,
        )
    if first.utcoffset() != second.utcoffset():
        raise InvalidInput(
            f"{local:%d %b %Y %H:%M} happens twice in {zone.key}: the clocks go back then. "
            "Pick another time, or give it in UTC.",
            field=field,
        )
    return first.astimezone(ZoneInfo("UTC"))


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    project: str
    gpus: float
    start: datetime  # wall-clock in time_zone (or aware)
    end: datetime
    time_zone: str = "UTC"
    note: str = ""


async def book(store: Store, principal: Principal, wanted: Request) -> Booking:
    """Book GPUs for a slot (editors and up of the project)."""
    found = await datasets.find_project(store, principal, wanted.project, "booking.create")
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        WRITE,
        action="booking.create",
        object_kind="booking",
    )
    zone = zone_of(wanted.time_zone)
    starts, ends = to_utc(wanted.start, zone, "start"), to_utc(wanted.end, zone, "end")
    at = now()
    if ends <= starts:
        raise InvalidInput("The slot must end after it starts.", field="end")
    if ends - starts > MAX_LENGTH:
        raise InvalidInput("Book at most 14 days at a time.", field="end")
    if starts < at - timedelta(minutes=5) or starts > at + MAX_AHEAD:
        raise InvalidInput("Book a slot that starts from now to a year ahead.", field="start")
    if not 0 < wanted.gpus <= 1024 or wanted.gpus != int(wanted.gpus):
        raise InvalidInput("Book a whole number of GPUs, at least one.", field="gpus")
    if len(wanted.note) > 500:
        raise InvalidInput("Keep the note under 500 characters.", field="note")
    nodes = await store.cluster.latest_nodes()
    capacity = sum(n.gpus for n in nodes if n.alive)
    if capacity <= 0:
        raise Conflict(
            "The cluster's size is not known yet (it has not been sampled), so "
            "nothing can be booked.",
            field="gpus",
        )
    teams = {g for g in principal.group_ids}
    quotas = [
        q
        for q in await store.bookings.quotas()
        if (q.scope_kind == "project" and q.scope_id == found.project.id)
        or (q.scope_kind == "team" and q.scope_id in teams)
    ]
    booking = Booking(
        new_id(),
        found.project.id,
        principal.user_id,
        float(wanted.gpus),
        starts,
        ends,
        zone.key,
        wanted.note.strip(),
        at,
    )
    said = (
        f"booked {wanted.gpus:g} GPU(s) from {wanted.start:%a %d %b %H:%M} to "
        f"{wanted.end:%a %d %b %H:%M} ({zone.key})"
    )
    events: list[EventDraft] = [
        audit.event(principal, "booking.create", "booking", booking.id, found.project.id),
        feed.entry(
            principal,
            "booking.create",
            "booking",
            booking.id,
            found.project.id,
            said,
            detail={"gpus": wanted.gpus},
        ),
    ]
    members = await store.users.group_members(sorted(teams)) if teams else {}
    return await audit.change(
        store, events, store.bookings.create(booking, capacity, quotas, members, audit=events)
    )


async def release(store: Store, principal: Principal, booking_id: str) -> Booking:
    """Give a booking back (whoever booked it, a project maintainer or an admin)."""
    booking = await store.bookings.by_id(booking_id)
    held = await permissions.access_to(store, principal, booking.project_id) if booking else None
    if booking is None or held is None:
        await audit.deny(store, principal, "booking.release", "booking", booking_id)
        raise NotFound(f"No booking with id {booking_id!r}.", field="id")
    if booking.user_id != principal.user_id and not held.allows(MANAGE):
        await audit.deny(
            store, principal, "booking.release", "booking", booking_id, booking.project_id
        )
        raise Forbidden("Only whoever booked it or a project maintainer can release a booking.")
    event = audit.event(principal, "booking.release", "booking", booking.id, booking.project_id)
    return await store.bookings.release(booking.id, now(), "released", audit=[event])


async def between(
    store: Store, principal: Principal, since: datetime, until: datetime
) -> list[Booking]:
    """Bookings overlapping a range (everyone signed in sees the calendar)."""
    if until <= since or until - since > timedelta(days=400):
        raise InvalidInput("Ask for a range of up to 400 days.", field="until")
    found = await store.bookings.between(since, until)
    await audit.read(store, principal, "bookings.read", "cluster", None, None, len(found))
    return found


async def idle_now(store: Store, found: list[Booking]) -> set[str]:
    """Ids of the bookings going on now with nothing of their project running on the cluster
    (released after SALON_BOOKING_GRACE_MINUTES of that)."""
    at = now()
    current = [b for b in found if b.released_at is None and b.starts_at <= at < b.ends_at]
    if not current:
        return set()
    running = {
        j.project
        for j in await store.cluster.jobs(1000)
        if j.project and j.gpus > 0 and j.status in ("PENDING", "RUNNING")
    }
    projects = await store.projects.by_ids(sorted({b.project_id for b in current}))
    names = {project_id: project.name for project_id, project in projects.items()}
    return {b.id for b in current if names.get(b.project_id) not in running}


async def quotas(store: Store, principal: Principal) -> list[Quota]:
    """Every team's GPU quota and those of the projects the principal may read; the quotas
    of other projects come as one total (``other projects``)."""
    shown = await _quotas_as_seen(store, principal)
    await audit.read(store, principal, "quotas.read", "cluster", None, None, len(shown))
    return shown


async def _quotas_as_seen(store: Store, principal: Principal) -> list[Quota]:
    found = await store.bookings.quotas()
    names = await cluster.readable_project_names(store, principal)
    shown = [q for q in found if q.scope_kind != "project" or q.name in names]
    others = [q for q in found if q not in shown]
    if others:
        last = max(others, key=lambda q: q.set_at)
        total = sum(q.gpus for q in others)
        shown.append(Quota("project", "", cluster.OTHER_PROJECTS, total, "", last.set_at))
    return shown


async def set_quota(
    store: Store, principal: Principal, scope_kind: str, name: str, gpus: float | None
) -> Quota | None:
    """A project's or team's GPU quota (site admins); None removes it."""
    if not principal.is_admin:
        await audit.deny(store, principal, "quota.set", scope_kind)
        raise Forbidden("Only site admins set GPU quotas.")
    if scope_kind == "project":
        project = await store.projects.by_name(name)
        if project is None:
            raise NotFound(f"No project named {name!r}.", field="name")
        scope_id = project.id
    elif scope_kind == "team":
        group = await store.users.group_by_name(name)
        if group is None:
            raise NotFound(f"No team (group) named {name!r}.", field="name")
        scope_id = group.id
    else:
        raise InvalidInput("A quota is for a project or a team.", field="scope")
    if gpus is not None and not 0 <= gpus <= 100_000:
        raise InvalidInput("A quota is 0 or more GPUs.", field="gpus")
    quota = (
        None
        if gpus is None
        else Quota(scope_kind, scope_id, name, float(gpus), principal.user_id, now())
    )
    event = audit.event(principal, "quota.set", scope_kind, scope_id)
    await store.bookings.set_quota(scope_kind, scope_id, quota, audit=[event])
    return quota


async def release_idle(store: Store, grace: timedelta) -> list[Booking]:
    """Release active bookings that have had nothing of their project running on the cluster
    for ``grace`` (checked when the cluster is sampled)."""
    at = now()
    released = []
    for booking in await store.bookings.between(at - timedelta(seconds=1), at):
        if booking.released_at is not None or at - booking.starts_at < grace:
            continue
        project = (await store.projects.by_ids([booking.project_id])).get(booking.project_id)
        jobs = await store.cluster.jobs(500)
        busy = [
            j
            for j in jobs
            if project
            and j.project == project.name
            and j.gpus > 0
            and (j.ended_at is None or j.ended_at > at - grace)
            and (j.started_at is not None and j.started_at < at)
        ]
        if busy:
            continue
        events: list[EventDraft] = [
            audit.event(SYSTEM, "booking.release", "booking", booking.id, booking.project_id),
        ]
        released.append(await store.bookings.release(booking.id, at, "idle", audit=events))
    return released


@dataclasses.dataclass(frozen=True, slots=True)
class Share:
    who: str
    gpu_hours: float
    share_of_use: float
    quota_gpus: float | None
    share_of_quota: float | None


async def fair_share(
    store: Store, principal: Principal, by: str, since: datetime, until: datetime
) -> list[Share]:
    """Each project's (or team's) share of the GPU-hours used, next to the share of the
    cluster its quota promises."""
    if by not in ("project", "team"):
        raise InvalidInput("Fair share is by project or by team.", field="by")
    rows = await cluster.usage(store, principal, since, until, "month", by)
    used: dict[str, float] = {}
    for row in rows:
        used[row.who] = used.get(row.who, 0.0) + row.gpu_hours
    total = sum(used.values())
    capacity = sum(n.gpus for n in await store.cluster.latest_nodes() if n.alive)
    quotas = {
        q.name: q.gpus
        for q in await _quotas_as_seen(store, principal)
        if q.scope_kind == ("project" if by == "project" else "team")
    }
    names = sorted(set(used) | set(quotas), key=lambda n: -used.get(n, 0.0))
    return [
        Share(
            name,
            used.get(name, 0.0),
            used.get(name, 0.0) / total if total else 0.0,
            quotas.get(name),
            quotas[name] / capacity if name in quotas and capacity else None,
        )
        for name in names
    ]
