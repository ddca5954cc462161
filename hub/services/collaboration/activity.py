"""The activity feed and each person's inbox.

Services describe each change they make with :func:`hub.services.policy.feed.entry`; the entry
travels with the change's audit events and is written in its transaction. Reading filters by
what the reader may see now: projects they can read, and restricted datasets only for their
groups, so a comment on a restricted dataset stays invisible (feed and inbox alike) to everyone
else.
"""

from __future__ import annotations

from datetime import datetime

from hub.clock import now
from hub.domain.collaboration import ActivityRecord, NotificationRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.services.collaboration import targets
from hub.services.collaboration.targets import Target
from hub.services.data import datasets
from hub.services.policy import audit, permissions
from hub.services.policy.permissions import Access
from hub.services.policy.principal import Principal
from hub.store import Store
from hub.store.activity import FeedQuery

MAX_FEED_PAGE = 200
REASONS = ("mention", "reply", "watch", "assign")


async def readable(store: Store, principal: Principal) -> dict[str, Access]:
    """The principal's access to every project they may read."""
    if principal.is_admin:
        every = [p.id for p in await store.projects.all()]
        found = {p: await permissions.access_to(store, principal, p) for p in every}
        return {p: held for p, held in found.items() if held is not None}
    return await permissions.project_access(store, principal)


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_FEED_PAGE:
        raise LimitExceeded(f"Ask for 1 to {MAX_FEED_PAGE} entries at a time.", field="limit")
    return limit


async def feed(
    store: Store,
    principal: Principal,
    *,
    project: str | None = None,
    about: tuple[str, str] | None = None,
    actor: str | None = None,
    verbs: list[str] | None = None,
    since: datetime | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[ActivityRecord]:
    """Entries newest first: of one project, about one object (its own and its comments'),
    or of every project the principal may read; optionally by one person, of some kinds
    (verb prefixes such as ``run.`` or ``comment.``) and after a time."""
    held = await readable(store, principal)
    if about is not None:
        found = await targets.find(store, principal, *about, action="activity.read")
        held = {found.project.id: found.access}
    elif project is not None:
        chosen = await datasets.find_project(store, principal, project, "activity.read")
        held = {chosen.project.id: chosen.access}
    actor_id = None
    if actor is not None:
        person = await store.users.by_name(actor.strip().lower())
        if person is None:
            raise InvalidInput(f"There is nobody called {actor!r}.", field="actor")
        actor_id = person.id
    query = FeedQuery(
        sorted(held),
        await targets.hidden(store, principal, held),
        about,
        actor_id,
        [v for v in verbs or [] if v.strip()] or None,
        since,
        before,
        _page(limit),
    )
    found_entries = await store.activity.feed(query) if held else []
    await audit.read(
        store,
        principal,
        "activity.read",
        "project",
        next(iter(held)) if len(held) == 1 else None,
        None,
        len(found_entries),
    )
    return found_entries


async def since_last_look(
    store: Store, principal: Principal, project: str, limit: int = 100
) -> tuple[datetime | None, list[ActivityRecord]]:
    """What changed in a project since the principal last marked it seen (everything recent
    when they never did), and when that was."""
    chosen = await datasets.find_project(store, principal, project, "activity.read")
    seen = await store.activity.last_seen(principal.user_id, chosen.project.id)
    return seen, await feed(store, principal, project=project, since=seen, limit=limit)


async def mark_seen(store: Store, principal: Principal, project: str) -> datetime:
    chosen = await datasets.find_project(store, principal, project, "activity.mark_seen")
    at = now()
    event = audit.event(
        principal, "activity.mark_seen", "project", chosen.project.id, chosen.project.id
    )
    await store.activity.mark_seen(principal.user_id, chosen.project.id, at, audit=[event])
    return at


async def inbox(
    store: Store, principal: Principal, unread: bool = False, limit: int = 50
) -> list[NotificationRecord]:
    """The principal's notifications, newest first, leaving out what they may no longer see."""
    projects, hidden = await _visible(store, principal)
    shown = await store.activity.inbox(principal.user_id, unread, _page(limit), projects, hidden)
    await audit.read(store, principal, "inbox.read", "user", principal.user_id, None, len(shown))
    return shown


async def unread_count(store: Store, principal: Principal) -> int:
    """How many unread notifications the inbox shows (none about what they may not see)."""
    projects, hidden = await _visible(store, principal)
    return await store.activity.unread_count(principal.user_id, projects, hidden)


async def _visible(store: Store, principal: Principal) -> tuple[list[str], list[str]]:
    """The projects the principal reads, and the restricted objects in them hidden from them."""
    held = await readable(store, principal)
    hidden = sorted({object_id for _, object_id in await targets.hidden(store, principal, held)})
    return sorted(held), hidden


async def mark_read(store: Store, principal: Principal, activity_ids: list[str] | None) -> int:
    """Mark these notifications read (all of them when None); how many changed."""
    if activity_ids is not None and len(activity_ids) > 1000:
        raise LimitExceeded("Mark at most 1,000 notifications at a time.", field="ids")
    event = audit.event(principal, "inbox.mark_read", "user", principal.user_id)
    return await store.activity.mark_read(principal.user_id, activity_ids, now(), audit=[event])


async def watch(store: Store, principal: Principal, kind: str, object_id: str, on: bool) -> Target:
    """Follow (or stop following) an object: its comments and changes reach the inbox."""
    found = await targets.find(store, principal, kind, object_id, action="watch")
    event = audit.event(principal, "watch" if on else "unwatch", kind, object_id, found.project.id)
    await store.activity.watch(principal.user_id, kind, object_id, on, now(), audit=[event])
    return found


async def visible(
    store: Store,
    principal: Principal,
    entry: ActivityRecord,
    project_id: str | None = None,
    about: tuple[str, str] | None = None,
) -> bool:
    """Whether a live entry reaches this subscriber: they can read its project now, it is not
    about a restricted object outside their groups, and it matches what they asked for."""
    if entry.project_id is None or (project_id is not None and entry.project_id != project_id):
        return False
    if about is not None and about not in (
        (entry.object_kind, entry.object_id),
        (entry.target_kind, entry.target_id),
    ):
        return False
    held = await permissions.access_to(store, principal, entry.project_id)
    if held is None:
        return False
    if entry.guard_kind and entry.guard_id:
        limits = await store.access.restrictions(entry.guard_kind, [entry.guard_id])
        groups = limits.get(entry.guard_id)
        return groups is None or permissions.can_see_restricted(principal, held, groups)
    return True


async def subscribe(
    store: Store, principal: Principal, project: str | None, about: tuple[str, str] | None
) -> str | None:
    """Check that a live feed may be opened (as :func:`feed` would be read) and audit it;
    the project id it is narrowed to, if any."""
    project_id = None
    if about is not None:
        project_id = (
            await targets.find(store, principal, *about, action="activity.subscribe")
        ).project.id
    elif project is not None:
        project_id = (
            await datasets.find_project(store, principal, project, "activity.subscribe")
        ).project.id
    await audit.read(store, principal, "activity.subscribe", "project", project_id, project_id, 0)
    return project_id
