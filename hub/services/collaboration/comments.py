"""Comments on anything people work on: threads, anchors, mentions, reactions, resolving.

Reading needs the object to be visible; writing needs the commenter role on its project.
People edit and delete their own comments (maintainers may delete any); a thread is resolved
or reopened by whoever started it or an editor. Mentions reach only people who can see the
object; a mention never grants access.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.collaboration import ActivityRecord, CommentRecord, Mention, Reaction
from hub.errors import Forbidden, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.run_filter import parse_filter
from hub.services.collaboration import activity, notebooks, targets
from hub.services.collaboration.markdown import mentioned, plain
from hub.services.collaboration.targets import Target
from hub.services.identity.tokens import principal_for_user
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import COMMENT, MANAGE, READ, WRITE
from hub.services.policy.principal import Principal
from hub.store import Store

MAX_BODY = 20_000
MAX_MENTIONS = 50
MAX_THREADS_PAGE = 500  # threads of one object in one read
EMOJI = {
    "+1": "👍",
    "-1": "👎",
    "tada": "🎉",
    "heart": "❤️",
    "eyes": "👀",
    "rocket": "🚀",
    "laugh": "😄",
    "confused": "😕",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Anchor:
    """A part of the object: a step range of a metric chart (runs), rows matching a filter
    (datasets), or a cell (a row and a column)."""

    metric: str | None = None
    steps: tuple[int, ...] | None = None  # (from, to)
    filter: str | None = None
    row: int | None = None
    column: str | None = None
    cell: int | None = None  # a notebook's cell

    def to_json(self) -> str | None:
        values = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        return json.dumps(values) if values else None


def _check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidInput("Write something: the comment is empty.", field="body")
    if len(body) > MAX_BODY:
        raise LimitExceeded(
            f"The comment is {len(body):,} characters long; the limit is {MAX_BODY:,}.",
            field="body",
        )
    return body


async def _check_anchor(store: Store, target: Target, anchor: Anchor | None) -> str | None:
    if anchor is None or anchor.to_json() is None:
        return None
    if anchor.steps is not None or anchor.metric is not None:
        if target.kind != "run":
            raise InvalidInput("A step range anchors a comment on a run's chart.", field="anchor")
        steps = anchor.steps or ()
        if not anchor.metric or len(steps) != 2 or not 0 <= steps[0] <= steps[1]:
            raise InvalidInput(
                "Give the metric and a step range from ≤ to, e.g. metric 'loss', steps [100, 200].",
                field="anchor",
            )
    if anchor.cell is not None:
        page = await store.pages.by_id(target.id) if target.kind == "page" else None
        if page is None or page.kind != "notebook":
            raise InvalidInput("A cell anchors a comment on a notebook.", field="anchor")
        count = len(notebooks.read(page.body).cells)
        if not 0 <= anchor.cell < count:
            raise InvalidInput(
                f"The notebook's cells are numbered 0 to {count - 1}.", field="anchor"
            )
        return anchor.to_json()
    if anchor.filter is not None or anchor.row is not None or anchor.column is not None:
        if target.kind != "dataset_version":
            raise InvalidInput(
                "A row filter or cell anchors a comment on a dataset version.", field="anchor"
            )
        version = (await store.datasets.versions_by_ids([target.id]))[target.id]
        names = [c.name for c in version.schema]
        if anchor.filter is not None:
            if len(anchor.filter) > 2000:
                raise LimitExceeded(
                    "The anchor's filter is too long (2,000 characters).", field="anchor"
                )
            parse_filter(anchor.filter, names)  # raises with where and why
        if anchor.column is not None and anchor.column not in names:
            raise InvalidInput(
                f"There is no column {anchor.column!r} in this version.", field="anchor"
            )
        if anchor.row is not None and not 0 <= anchor.row < version.row_count:
            raise InvalidInput(f"Rows are numbered 0 to {version.row_count - 1}.", field="anchor")
    return anchor.to_json()


async def _mentions(store: Store, body: str) -> list[Mention]:
    """People and groups named with @ that exist (users first, then groups)."""
    names = mentioned(body)
    if len(names) > MAX_MENTIONS:
        raise LimitExceeded(f"Mention at most {MAX_MENTIONS} people or groups.", field="body")
    # Every name looked up at once, as a person and as a group: one wait, not two a name.
    users = asyncio.gather(*(store.users.by_name(name) for name in names))
    groups = asyncio.gather(*(store.users.group_by_name(name) for name in names))
    found: list[Mention] = []
    for user, group in zip(*await asyncio.gather(users, groups), strict=True):
        if user is not None:
            found.append(Mention("user", user.id))
        elif group is not None:
            found.append(Mention("group", group.id))
    return found


async def can_see(store: Store, user_id: str, target: Target) -> bool:
    """Whether a person (not the caller) may see ``target``: who may be notified of it."""
    user = await store.users.by_id(user_id)
    if user is None or user.disabled_at is not None:
        return False
    person = await principal_for_user(store, user, auth_method="system", auth_id=None)
    held = await permissions.access_to(store, person, target.project.id)
    if held is None:
        return False
    if target.guard is None:
        return True
    kind, object_id = target.guard
    limits = await store.access.restrictions(kind, [object_id])
    return object_id not in limits or permissions.can_see_restricted(
        person, held, limits[object_id]
    )


async def _recipients(
    store: Store, target: Target, mentions: list[Mention], thread_id: str | None
) -> list[tuple[str, str]]:
    """Who is told of a new comment, and why: the people mentioned (groups' members too),
    earlier voices in the thread, and watchers of the object or its project; only those who
    can see the object."""
    groups = [m.subject_id for m in mentions if m.subject_kind == "group"]
    members, authors, watchers = await asyncio.gather(  # one wait for the three
        store.users.group_members(groups) if groups else asyncio.sleep(0, {}),
        store.comments.thread_authors(thread_id) if thread_id else asyncio.sleep(0, set()),
        store.activity.watchers([target.ref, ("project", target.project.id)]),
    )
    wanted: list[tuple[str, str]] = []
    for m in mentions:
        ids = [m.subject_id] if m.subject_kind == "user" else members.get(m.subject_id, [])
        wanted += [(user_id, "mention") for user_id in ids]
    wanted += [(user_id, "reply") for user_id in authors]
    wanted += [(user_id, "watch") for user_id in sorted(watchers)]
    seen: dict[str, bool] = {}
    result = []
    for user_id, reason in wanted:
        if user_id not in seen:
            seen[user_id] = await can_see(store, user_id, target)
        if seen[user_id]:
            result.append((user_id, reason))
    return result


async def add(
    store: Store,
    principal: Principal,
    kind: str,
    object_id: str,
    body: str,
    anchor: Anchor | None = None,
    reply_to: str | None = None,
) -> CommentRecord:
    """A new comment on an object, starting a thread or replying in one (``reply_to``)."""
    made, _ = await add_with_mentions(store, principal, kind, object_id, body, anchor, reply_to)
    return made


async def add_with_mentions(
    store: Store,
    principal: Principal,
    kind: str,
    object_id: str,
    body: str,
    anchor: Anchor | None = None,
    reply_to: str | None = None,
) -> tuple[CommentRecord, list[Mention]]:
    """:func:`add`, with whom the new comment mentions: what showing it needs, known without
    asking the store again."""
    target = await targets.find(store, principal, kind, object_id, COMMENT, action="comment.create")
    body = _check_body(body)
    parent = None
    if reply_to is not None:
        parent = await store.comments.by_id(reply_to)
        if parent is None or parent.target_id != target.id:
            raise InvalidInput("The comment replied to is not on this object.", field="replyTo")
    anchor_json = None if parent else await _check_anchor(store, target, anchor)
    mentions = await _mentions(store, body)
    comment_id = new_id()
    thread_id = parent.thread_id if parent else comment_id
    record = CommentRecord(
        comment_id,
        target.project.id,
        target.kind,
        target.id,
        thread_id,
        parent.id if parent else None,
        anchor_json,
        principal.user_id,
        body,
        now(),
    )
    recipients = await _recipients(store, target, mentions, parent.thread_id if parent else None)
    verb = "comment.reply" if parent else "comment.create"
    said = f"{'replied' if parent else 'commented'} on {target.title}: “{plain(body, 80)}”"
    events: list[EventDraft] = [
        audit.event(principal, verb, "comment", comment_id, target.project.id),
        feed.entry(
            principal,
            verb,
            "comment",
            comment_id,
            target.project.id,
            said,
            target=target,
            detail={"excerpt": plain(body), "thread": thread_id},
            recipients=recipients,
        ),
    ]
    made = await audit.change(store, events, store.comments.create(record, mentions, audit=events))
    return made, mentions


@dataclasses.dataclass(frozen=True, slots=True)
class ThreadPage:
    """A page of an object's threads: their comments oldest first (deleted ones keep their
    place, emptied), whether more threads follow, and the open threads over all pages."""

    comments: list[CommentRecord]
    has_more: bool
    open_threads: int
    watching: bool  # whether the reader follows the object


async def threads(
    store: Store,
    principal: Principal,
    kind: str,
    object_id: str,
    first: int = 100,
    after: str | None = None,
) -> ThreadPage:
    """Up to ``first`` threads on an object, oldest first, after the thread ``after``."""
    if not 1 <= first <= MAX_THREADS_PAGE:
        raise LimitExceeded(f"Ask for 1 to {MAX_THREADS_PAGE} threads at a time.", field="first")
    target = await targets.find(store, principal, kind, object_id, READ, action="comments.read")
    found, more = await store.comments.threads_on(target.id, after, first)
    _, open_threads = (await store.comments.counts([target.id])).get(target.id, (0, 0))
    watching = await store.activity.watching(principal.user_id, kind, target.id)
    await audit.read(
        store, principal, "comments.read", kind, object_id, target.project.id, len(found)
    )
    return ThreadPage(found, more, open_threads, watching)


async def _target_of(
    store: Store, principal: Principal, comment: CommentRecord, needed: str, action: str
) -> Target:
    """What the comment is on, when the principal may see it; otherwise the same NotFound as
    for a comment id that does not exist (naming the target would tell what it is on)."""
    kind, object_id = comment.target_kind, comment.target_id
    try:
        return await targets.find(store, principal, kind, object_id, needed, action=action)
    except NotFound:
        raise permissions.not_found(f"comment with id {comment.id!r}") from None


async def _own(
    store: Store, principal: Principal, comment_id: str, needed: str, action: str
) -> tuple[CommentRecord, Target]:
    comment = await store.comments.by_id(comment_id)
    if comment is None:
        await audit.deny(store, principal, action, "comment", comment_id)
        raise permissions.not_found(f"comment with id {comment_id!r}")
    target = await _target_of(store, principal, comment, needed, action)
    if comment.deleted_at is not None:
        raise InvalidInput("This comment was deleted.", field="id")
    return comment, target


async def edit(store: Store, principal: Principal, comment_id: str, body: str) -> CommentRecord:
    """Change one's own comment; the earlier text stays in its history. People mentioned for
    the first time are told."""
    comment, target = await _own(store, principal, comment_id, COMMENT, "comment.edit")
    if comment.author_id != principal.user_id:
        await audit.deny(store, principal, "comment.edit", "comment", comment_id, target.project.id)
        raise Forbidden("Only its author can edit a comment.")
    body = _check_body(body)
    mentions = await _mentions(store, body)
    before = {
        m.subject_id for m in (await store.comments.mentions([comment_id])).get(comment_id, [])
    }
    new = [m for m in mentions if m.subject_id not in before]
    recipients = [r for r in await _recipients(store, target, new, None) if r[1] == "mention"]
    events: list[EventDraft] = [
        audit.event(principal, "comment.edit", "comment", comment_id, target.project.id),
        feed.entry(
            principal,
            "comment.edit",
            "comment",
            comment_id,
            target.project.id,
            f"edited a comment on {target.title}",
            target=target,
            detail={"excerpt": plain(body), "thread": comment.thread_id},
            recipients=recipients,
        ),
    ]
    work = store.comments.edit(comment_id, body, principal.user_id, now(), mentions, audit=events)
    return await audit.change(store, events, work)


async def delete(store: Store, principal: Principal, comment_id: str) -> CommentRecord:
    """Remove a comment's text (its author, or a maintainer); the thread keeps its place and
    the text stays in the edit history for maintainers and the audit trail."""
    comment, target = await _own(store, principal, comment_id, COMMENT, "comment.delete")
    if comment.author_id != principal.user_id and not target.access.allows(MANAGE):
        await audit.deny(
            store, principal, "comment.delete", "comment", comment_id, target.project.id
        )
        raise Forbidden("Only its author or a project maintainer can delete a comment.")
    events: list[EventDraft] = [
        audit.event(principal, "comment.delete", "comment", comment_id, target.project.id),
        feed.entry(
            principal,
            "comment.delete",
            "comment",
            comment_id,
            target.project.id,
            f"deleted a comment on {target.title}",
            target=target,
        ),
    ]
    work = store.comments.edit(
        comment_id, "", principal.user_id, now(), [], delete=True, audit=events
    )
    return await audit.change(store, events, work)


async def resolve(
    store: Store, principal: Principal, comment_id: str, resolved: bool
) -> CommentRecord:
    """Resolve (or reopen) the thread a comment belongs to: its starter or an editor."""
    comment, target = await _own(store, principal, comment_id, COMMENT, "comment.resolve")
    thread = await store.comments.by_id(comment.thread_id)
    assert thread is not None
    if thread.author_id != principal.user_id and not target.access.allows(WRITE):
        await audit.deny(
            store, principal, "comment.resolve", "comment", thread.id, target.project.id
        )
        raise Forbidden("Only whoever started the thread or an editor can resolve it.")
    verb = "comment.resolve" if resolved else "comment.reopen"
    said = f"{'resolved' if resolved else 'reopened'} a thread on {target.title}"
    recipients = [(thread.author_id, "reply")] if thread.author_id != principal.user_id else []
    events: list[EventDraft] = [
        audit.event(principal, verb, "comment", thread.id, target.project.id),
        feed.entry(
            principal,
            verb,
            "comment",
            thread.id,
            target.project.id,
            said,
            target=target,
            detail={"thread": thread.id},
            recipients=recipients,
        ),
    ]
    by, at = (principal.user_id, now()) if resolved else (None, None)
    return await audit.change(
        store, events, store.comments.resolve(thread.id, by, at, audit=events)
    )


async def react(
    store: Store, principal: Principal, comment_id: str, emoji: str, on: bool
) -> CommentRecord:
    """Add (or take back) a reaction: one of :data:`EMOJI`'s names."""
    if emoji not in EMOJI:
        raise InvalidInput(f"React with one of: {', '.join(EMOJI)}.", field="emoji")
    comment, target = await _own(store, principal, comment_id, COMMENT, "comment.react")
    event = audit.event(principal, "comment.react", "comment", comment_id, target.project.id)
    await store.comments.react(comment_id, principal.user_id, emoji, on, now(), audit=[event])
    return comment


async def history(store: Store, principal: Principal, comment_id: str) -> list[Any]:
    """The earlier texts of a comment (its author and maintainers)."""
    comment = await store.comments.by_id(comment_id)
    if comment is None:
        await audit.deny(store, principal, "comment.history", "comment", comment_id)
        raise permissions.not_found(f"comment with id {comment_id!r}")
    target = await _target_of(store, principal, comment, READ, "comment.history")
    if comment.author_id != principal.user_id and not target.access.allows(MANAGE):
        raise Forbidden("Only its author or a project maintainer can read a comment's history.")
    edits = (await store.comments.history([comment_id])).get(comment_id, [])
    await audit.read(
        store, principal, "comment.history", "comment", comment_id, target.project.id, len(edits)
    )
    return edits


async def mention_candidates(
    store: Store, principal: Principal, kind: str, object_id: str, prefix: str = ""
) -> list[tuple[str, str, str]]:
    """People (and groups) who could be @mentioned on an object because they can see it, as
    (kind, name, display name), matching ``prefix``: the dashboard's autocomplete."""
    target = await targets.find(store, principal, kind, object_id, READ, action="mentions.list")
    wanted = prefix.strip().lstrip("@").lower()[:64]
    people = [
        u
        for u in await store.users.all()
        if u.disabled_at is None
        and (u.name.startswith(wanted) or u.display_name.lower().startswith(wanted))
    ]
    found = [
        ("user", u.name, u.display_name) for u in people[:200] if await can_see(store, u.id, target)
    ]
    found += [
        ("group", g.name, g.description or g.name)
        for g in await store.users.groups()
        if g.name.startswith(wanted)
    ]
    return found[:50]


async def subscribe(store: Store, principal: Principal, kind: str, target_id: str) -> Target:
    """Start following the comments on an object: the caller must be able to read it, and the
    audit trail records that they follow it."""
    target = await targets.find(
        store, principal, kind, target_id, READ, action="comments.subscribe"
    )
    await audit.read(store, principal, "comments.subscribe", kind, target_id, target.project.id, 0)
    return target


async def arrived(
    store: Store, principal: Principal, target: Target, entries: Iterable[ActivityRecord]
) -> list[CommentRecord]:
    """The comments on ``target`` among newly committed activity, as stored now, that the
    caller may see."""
    found = []
    for entry in entries:
        if entry.object_kind != "comment" or entry.object_id is None:
            continue
        if not await activity.visible(store, principal, entry, None, target.ref):
            continue
        comment = await store.comments.by_id(entry.object_id)
        if comment is not None:
            found.append(comment)
    return found


async def current(store: Store, comment: CommentRecord) -> CommentRecord:
    """A comment a change just returned, as stored now (with the change's effects)."""
    return await store.comments.by_id(comment.id) or comment


async def reactions_and_mentions(
    store: Store, comment_ids: list[str]
) -> tuple[list[Reaction], dict[str, list[Mention]]]:
    """Who reacted how, and whom each comment mentions, for a page of comments at once."""
    return await asyncio.gather(
        store.comments.reactions(comment_ids), store.comments.mentions(comment_ids)
    )
