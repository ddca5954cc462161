"""The activity feed, each person's inbox, what they watch and when they last looked.

Entries are appended by :meth:`Database.audited_write` in the transaction of the change they
describe (see :func:`append`), so the feed never shows a change that did not happen and never
misses one that did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from hub.domain.audit import EventDraft
from hub.domain.collaboration import (
    ActivityDraft,
    ActivityRecord,
    DigestSettings,
    NotificationRecord,
)
from hub.ids import new_id
from hub.store._rows import (
    affected,
    among,
    insert_rows,
    mapping_of,
    maybe_utc,
    qualified,
    record_of,
    row_of,
    to_naive,
    to_utc,
)
from hub.store.hidden import about_live

if TYPE_CHECKING:
    from hub.store.database import Database

Cursor = duckdb.DuckDBPyConnection
_COLUMNS = (
    "id, happened_at, actor_id, project_id, verb, object_kind, object_id, target_kind, "
    "target_id, guard_kind, guard_id, summary, detail"
)


def append(
    cur: Cursor,
    drafts: Sequence[ActivityDraft],
    at: datetime,
    hooked: dict[str, bool] | None = None,
) -> tuple[list[ActivityRecord], bool]:
    """Insert ``drafts`` and their notifications in the caller's transaction; the entries, and
    whether any of them went to a webhook's outbox. ``hooked``: whether a project has an
    enabled webhook, as read before (asked first and given what is read); the caller drops it
    whenever a transaction that wrote to ``webhooks`` ends, before another may look."""
    entries: list[ActivityRecord] = []
    notices: list[list[Any]] = []
    for d in drafts:
        when = d.at or at
        entry = ActivityRecord(
            new_id(d.at),
            when,
            d.actor_id,
            d.project_id,
            d.verb,
            d.object_kind,
            d.object_id,
            d.target_kind,
            d.target_id,
            d.guard_kind,
            d.guard_id,
            d.summary,
            d.detail,
        )
        entries.append(entry)
        reasons: dict[str, str] = {}  # one notice per person: the first reason given wins
        for user_id, reason in d.recipients:
            reasons.setdefault(user_id, reason)
        reasons.pop(d.actor_id, None)  # nobody is told of what they did themselves
        notices += [
            [user_id, entry.id, reason, to_naive(at)] for user_id, reason in reasons.items()
        ]
    insert_rows(cur, "activity", _COLUMNS, [row_of(e) for e in entries])
    insert_rows(cur, "notifications", "user_id, activity_id, reason, created_at", notices)
    with_hooks = _projects_with_webhooks(
        cur, {e.project_id for e in entries if e.project_id}, hooked
    )
    queued = [entry for entry in entries if entry.project_id in with_hooks]
    for entry in queued:
        _enqueue(cur, entry, at)
    return entries, bool(queued)


def _projects_with_webhooks(
    cur: Cursor, project_ids: set[str], known: dict[str, bool] | None
) -> set[str]:
    """Which of the projects have an enabled webhook (most have none: nothing to queue)."""
    if not project_ids:
        return set()
    if known is not None and project_ids <= known.keys():
        return {project_id for project_id in project_ids if known[project_id]}
    wanted = sorted(project_ids)
    rows = cur.execute(
        f"SELECT DISTINCT project_id FROM webhooks WHERE project_id IN {among(wanted)} "
        "AND disabled_at IS NULL",
        wanted,
    ).fetchall()
    found = {row[0] for row in rows}
    if known is not None:
        known.update((project_id, project_id in found) for project_id in wanted)
    return found


def _enqueue(cur: Cursor, entry: ActivityRecord, at: datetime) -> None:
    """A message in the outbox for each enabled webhook of the project that wants the entry's
    kind. Entries about restricted objects never leave the hub."""
    cur.execute(
        "INSERT INTO webhook_outbox (id, webhook_id, activity_id, created_at, attempts, "
        "next_attempt_at) SELECT 'msg_' || replace(uuid()::VARCHAR, '-', ''), id, ?, ?, 0, ? "
        "FROM webhooks WHERE project_id = ? AND disabled_at IS NULL AND (len(events) = 0 OR "
        "len(list_filter(events, prefix -> starts_with(?, prefix))) > 0) AND NOT EXISTS "
        "(SELECT 1 FROM restrictions WHERE object_id = ?)",
        [entry.id, to_naive(at), to_naive(at), entry.project_id, entry.verb, entry.guard_id],
    )


def by_ids_sync(cur: Cursor, ids: list[str]) -> dict[str, ActivityRecord]:
    """The entries of these ids."""
    rows = cur.execute(f"SELECT {_COLUMNS} FROM activity WHERE id IN {among(ids)}", ids).fetchall()
    return {row[0]: _entry(row) for row in rows}


def _entry(row: tuple[Any, ...]) -> ActivityRecord:
    return record_of(ActivityRecord, row, {"detail": mapping_of})


@dataclasses.dataclass(frozen=True, slots=True)
class FeedQuery:
    """Which entries to read, newest first. ``hidden`` are restrictable objects (kind, id) the
    reader may not see: entries they guard are left out."""

    project_ids: list[str]
    hidden: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    about: tuple[str, str] | None = None  # an object (kind, id): its own entries and its comments
    actor_id: str | None = None
    verbs: list[str] | None = None  # prefixes: "run." matches every run entry
    since: datetime | None = None
    before_id: str | None = None  # the page before this entry
    limit: int = 50


def _feed(cur: Cursor, q: FeedQuery) -> list[ActivityRecord]:
    where = [
        f"project_id IN {among(q.project_ids)}",
        about_live("activity.object_id", "activity.target_id", "activity.project_id"),
    ]
    params: list[Any] = [*q.project_ids]
    if q.hidden:
        hidden = [object_id for _, object_id in q.hidden]  # ids are unique across kinds
        where.append(f"(guard_id IS NULL OR guard_id NOT IN {among(hidden)})")
        params += hidden
    if q.about:
        where.append("((object_kind = ? AND object_id = ?) OR (target_kind = ? AND target_id = ?))")
        params += [*q.about, *q.about]
    if q.actor_id:
        where.append("actor_id = ?")
        params.append(q.actor_id)
    if q.verbs:
        where.append("(" + " OR ".join("starts_with(verb, ?)" for _ in q.verbs) + ")")
        params += q.verbs
    if q.since:
        where.append("happened_at > ?")
        params.append(to_naive(q.since))
    if q.before_id:
        where.append("id < ?")
        params.append(q.before_id)
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM activity WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        [*params, q.limit],
    ).fetchall()
    return [_entry(row) for row in rows]


# A person's notifications about what they may still see: in the projects they read, not
# about restricted objects hidden from them.
_VISIBLE = (
    "FROM notifications n JOIN activity a ON a.id = n.activity_id WHERE n.user_id = ? "
    "AND list_contains(?, a.project_id) "
    "AND (a.guard_id IS NULL OR NOT list_contains(?, a.guard_id)) "
    f"AND {about_live('a.object_id', 'a.target_id', 'a.project_id')} "
)


def _inbox(
    cur: Cursor, user_id: str, unread: bool, limit: int, projects: list[str], hidden: list[str]
) -> list[NotificationRecord]:
    columns = qualified(_COLUMNS, "a")
    rows = cur.execute(
        f"SELECT {columns}, n.reason, n.created_at, n.read_at {_VISIBLE}"
        f"{'AND n.read_at IS NULL ' if unread else ''}ORDER BY a.id DESC LIMIT ?",
        [user_id, projects, hidden, limit],
    ).fetchall()
    return [
        NotificationRecord(_entry(row[:13]), row[13], to_utc(row[14]), maybe_utc(row[15]))
        for row in rows
    ]


def _mark_read(cur: Cursor, user_id: str, activity_ids: list[str] | None, at: datetime) -> int:
    chosen = "" if activity_ids is None else f"AND activity_id IN {among(activity_ids)} "
    params: list[Any] = [to_naive(at), user_id, *(activity_ids or [])]
    return affected(
        cur,
        f"UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL {chosen}",
        params,
    )


def _watchers(cur: Cursor, target_ids: list[str]) -> list[str]:
    rows = cur.execute(
        f"SELECT DISTINCT user_id FROM watches WHERE target_id IN {among(target_ids)} "
        "ORDER BY user_id",
        target_ids,
    ).fetchall()
    return [row[0] for row in rows]


def _watch(cur: Cursor, user_id: str, kind: str, target_id: str, on: bool, at: datetime) -> None:
    cur.execute(
        "DELETE FROM watches WHERE user_id = ? AND target_kind = ? AND target_id = ?",
        [user_id, kind, target_id],
    )
    if on:
        cur.execute(
            "INSERT INTO watches VALUES (?, ?, ?, ?)", [user_id, kind, target_id, to_naive(at)]
        )


def _mark_seen(cur: Cursor, user_id: str, project_id: str, at: datetime) -> None:
    cur.execute(
        "DELETE FROM feed_marks WHERE user_id = ? AND project_id = ?", [user_id, project_id]
    )
    cur.execute("INSERT INTO feed_marks VALUES (?, ?, ?)", [user_id, project_id, to_naive(at)])


class ActivityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def feed(self, query: FeedQuery) -> list[ActivityRecord]:
        return await self._db.read(_feed, query)

    async def by_ids(self, ids: list[str]) -> dict[str, ActivityRecord]:
        return await self._db.read(by_ids_sync, ids) if ids else {}

    async def inbox(
        self, user_id: str, unread: bool, limit: int, projects: list[str], hidden: list[str]
    ) -> list[NotificationRecord]:
        """The newest notifications about entries in ``projects`` and not guarded by one of
        the ``hidden`` objects."""
        return await self._db.read(_inbox, user_id, unread, limit, projects, hidden)

    async def unread_count(self, user_id: str, projects: list[str], hidden: list[str]) -> int:
        """How many unread notifications :meth:`inbox` would show."""

        def count(cur: Cursor) -> int:
            row = cur.execute(
                f"SELECT count(*) {_VISIBLE}AND n.read_at IS NULL", [user_id, projects, hidden]
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._db.read(count)

    async def mark_read(
        self,
        user_id: str,
        activity_ids: list[str] | None,
        at: datetime,
        *,
        audit: Sequence[EventDraft],
    ) -> int:
        return await self._db.audited_write(audit, _mark_read, user_id, activity_ids, at)

    async def watch(
        self,
        user_id: str,
        kind: str,
        target_id: str,
        on: bool,
        at: datetime,
        *,
        audit: Sequence[EventDraft],
    ) -> None:
        await self._db.audited_write(audit, _watch, user_id, kind, target_id, on, at)

    async def watchers(self, targets: list[tuple[str, str]]) -> set[str]:
        """Everyone watching any of ``targets`` (kind, id); asked by every change that tells
        watchers, so kept until watches change."""
        if not targets:
            return set()
        ids = sorted({target_id for _, target_id in targets})  # ids are unique across kinds
        return set(await self._db.read_kept(_watchers, ids))

    async def watching(self, user_id: str, kind: str, target_id: str) -> bool:
        def select(cur: Cursor) -> bool:
            return (
                cur.execute(
                    "SELECT 1 FROM watches WHERE user_id = ? AND target_kind = ? AND target_id = ?",
                    [user_id, kind, target_id],
                ).fetchone()
                is not None
            )

        return await self._db.read(select)

    async def last_seen(self, user_id: str, project_id: str) -> datetime | None:
        def select(cur: Cursor) -> datetime | None:
            row = cur.execute(
                "SELECT seen_at FROM feed_marks WHERE user_id = ? AND project_id = ?",
                [user_id, project_id],
            ).fetchone()
            return to_utc(row[0]) if row else None

        return await self._db.read(select)

    async def mark_seen(
        self, user_id: str, project_id: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _mark_seen, user_id, project_id, at)


def _digest_row(row: tuple[Any, ...]) -> DigestSettings:
    return DigestSettings(row[0], row[1], row[2], maybe_utc(row[3]))


class DigestStore:
    """Digest preferences and when each digest last went out."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, user_id: str) -> DigestSettings | None:
        def select(cur: Cursor) -> DigestSettings | None:
            row = cur.execute(
                "SELECT user_id, frequency, time_zone, last_sent_at FROM digest_settings "
                "WHERE user_id = ?",
                [user_id],
            ).fetchone()
            return _digest_row(row) if row else None

        return await self._db.read(select)

    async def wanted(self) -> list[DigestSettings]:
        """Everyone who asked for a digest."""

        def select(cur: Cursor) -> list[DigestSettings]:
            rows = cur.execute(
                "SELECT user_id, frequency, time_zone, last_sent_at FROM digest_settings "
                "WHERE frequency <> 'off' ORDER BY user_id"
            ).fetchall()
            return [_digest_row(row) for row in rows]

        return await self._db.read(select)

    async def save(self, settings: DigestSettings, *, audit: Sequence[EventDraft]) -> None:
        def replace(cur: Cursor) -> None:
            cur.execute("DELETE FROM digest_settings WHERE user_id = ?", [settings.user_id])
            cur.execute(
                "INSERT INTO digest_settings VALUES (?, ?, ?, ?)",
                [
                    settings.user_id,
                    settings.frequency,
                    settings.time_zone,
                    to_naive(settings.last_sent_at),
                ],
            )

        await self._db.audited_write(audit, replace)

    async def sent(self, user_id: str, at: datetime) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "UPDATE digest_settings SET last_sent_at = ? WHERE user_id = ?",
                [to_naive(at), user_id],
            )
        )
