"""Comments, their edit history, reactions and mentions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.collaboration import CommentEdit, CommentRecord, Mention, Reaction
from hub.store._rows import affected, among, maybe_utc, row_of, to_naive, to_utc
from hub.store.database import Cursor, Database

_FIELDS = [f.name for f in dataclasses.fields(CommentRecord)]
_COLUMNS = ", ".join(_FIELDS)
_TIMES = ("created_at", "edited_at", "deleted_at", "resolved_at")


def _comment(row: tuple[Any, ...]) -> CommentRecord:
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _TIMES:
        values[name] = maybe_utc(values[name])
    return CommentRecord(**values)


def _by_id(cur: Cursor, comment_id: str) -> CommentRecord | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM comments WHERE id = ?", [comment_id]).fetchone()
    return _comment(row) if row else None


def _set_mentions(
    cur: Cursor, comment_id: str, mentions: Sequence[Mention], *, new: bool = False
) -> None:
    """The comment's mentions become ``mentions`` (a ``new`` comment has none to replace)."""
    if not new:
        cur.execute("DELETE FROM comment_mentions WHERE comment_id = ?", [comment_id])
    if mentions:
        cur.executemany(
            "INSERT INTO comment_mentions VALUES (?, ?, ?)",
            [[comment_id, m.subject_kind, m.subject_id] for m in mentions],
        )


def _insert(cur: Cursor, record: CommentRecord, mentions: Sequence[Mention]) -> CommentRecord:
    values = row_of(record)
    cur.execute(
        f"INSERT INTO comments ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values
    )
    _set_mentions(cur, record.id, mentions, new=True)
    return record


def _edit(
    cur: Cursor,
    comment_id: str,
    body: str,
    editor: str,
    at: datetime,
    mentions: Sequence[Mention],
    delete: bool,
) -> CommentRecord:
    """Keep the current body in the history, then replace it (with nothing, when deleting)."""
    cur.execute(
        "INSERT INTO comment_edits SELECT id, body, ?, ? FROM comments WHERE id = ?",
        [editor, to_naive(at), comment_id],
    )
    stamp = to_naive(at)
    if delete:
        cur.execute(
            "UPDATE comments SET body = '', deleted_at = ? WHERE id = ?", [stamp, comment_id]
        )
    else:
        cur.execute(
            "UPDATE comments SET body = ?, edited_at = ? WHERE id = ?", [body, stamp, comment_id]
        )
    _set_mentions(cur, comment_id, mentions)
    found = _by_id(cur, comment_id)
    assert found is not None
    return found


def _resolve(cur: Cursor, thread_id: str, by: str | None, at: datetime | None) -> CommentRecord:
    cur.execute(
        "UPDATE comments SET resolved_at = ?, resolved_by = ? WHERE id = ?",
        [to_naive(at), by, thread_id],
    )
    found = _by_id(cur, thread_id)
    assert found is not None
    return found


def _react(cur: Cursor, comment_id: str, user_id: str, emoji: str, on: bool, at: datetime) -> bool:
    """Add or take back a reaction; whether anything changed."""
    had = affected(
        cur,
        "DELETE FROM comment_reactions WHERE comment_id = ? AND user_id = ? AND emoji = ?",
        [comment_id, user_id, emoji],
    )
    if on:
        cur.execute(
            "INSERT INTO comment_reactions VALUES (?, ?, ?, ?)",
            [comment_id, user_id, emoji, to_naive(at)],
        )
    return bool(had) != on


class CommentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, record: CommentRecord, mentions: Sequence[Mention], *, audit: Sequence[EventDraft]
    ) -> CommentRecord:
        return await self._db.audited_write(audit, _insert, record, mentions)

    async def by_id(self, comment_id: str) -> CommentRecord | None:
        return await self._db.read(_by_id, comment_id)

    async def threads_on(
        self, target_id: str, after: str | None, limit: int
    ) -> tuple[list[CommentRecord], bool]:
        """Every comment of up to ``limit`` threads on an object, oldest thread first, starting
        after the thread ``after``; and whether more threads follow. Ids are unique across
        kinds and ordered by time."""

        def select(cur: Cursor) -> tuple[list[CommentRecord], bool]:
            starts = [
                row[0]
                for row in cur.execute(
                    "SELECT id FROM comments WHERE target_id = ? AND id = thread_id "
                    "AND (CAST(? AS VARCHAR) IS NULL OR id > ?) ORDER BY id LIMIT ?",
                    [target_id, after, after, limit + 1],
                ).fetchall()
            ]
            page = starts[:limit]
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM comments WHERE thread_id IN {among(page)} ORDER BY id",
                page,
            ).fetchall()
            return [_comment(row) for row in rows], len(starts) > limit

        return await self._db.read(select)

    async def counts(self, target_ids: list[str]) -> dict[str, tuple[int, int]]:
        """Per object: its comments (not deleted) and its open threads."""

        def select(cur: Cursor) -> dict[str, tuple[int, int]]:
            rows = cur.execute(
                "SELECT target_id, count(*) FILTER (WHERE deleted_at IS NULL), "
                "count(*) FILTER (WHERE id = thread_id AND resolved_at IS NULL "
                f"AND deleted_at IS NULL) FROM comments WHERE target_id IN {among(target_ids)} "
                "GROUP BY target_id",
                target_ids,
            ).fetchall()
            return {row[0]: (int(row[1]), int(row[2])) for row in rows}

        return await self._db.read(select) if target_ids else {}

    async def thread_authors(self, thread_id: str) -> set[str]:
        def select(cur: Cursor) -> set[str]:
            rows = cur.execute(
                "SELECT DISTINCT author_id FROM comments WHERE thread_id = ?", [thread_id]
            ).fetchall()
            return {row[0] for row in rows}

        return await self._db.read(select)

    async def edit(
        self,
        comment_id: str,
        body: str,
        editor: str,
        at: datetime,
        mentions: Sequence[Mention],
        *,
        delete: bool = False,
        audit: Sequence[EventDraft],
    ) -> CommentRecord:
        return await self._db.audited_write(
            audit, _edit, comment_id, body, editor, at, mentions, delete
        )

    async def history(self, comment_ids: list[str]) -> dict[str, list[CommentEdit]]:
        def select(cur: Cursor) -> dict[str, list[CommentEdit]]:
            rows = cur.execute(
                "SELECT comment_id, body, edited_by, edited_at FROM comment_edits "
                f"WHERE comment_id IN {among(comment_ids)} ORDER BY edited_at",
                comment_ids,
            ).fetchall()
            found: dict[str, list[CommentEdit]] = {}
            for row in rows:
                found.setdefault(row[0], []).append(
                    CommentEdit(row[0], row[1], row[2], to_utc(row[3]))
                )
            return found

        return await self._db.read(select) if comment_ids else {}

    async def resolve(
        self, thread_id: str, by: str | None, at: datetime | None, *, audit: Sequence[EventDraft]
    ) -> CommentRecord:
        """Mark a thread resolved by ``by`` at ``at``; None and None reopen it."""
        return await self._db.audited_write(audit, _resolve, thread_id, by, at)

    async def react(
        self,
        comment_id: str,
        user_id: str,
        emoji: str,
        on: bool,
        at: datetime,
        *,
        audit: Sequence[EventDraft],
    ) -> bool:
        return await self._db.audited_write(audit, _react, comment_id, user_id, emoji, on, at)

    async def reactions(self, comment_ids: list[str]) -> list[Reaction]:
        def select(cur: Cursor) -> list[Reaction]:
            rows = cur.execute(
                "SELECT comment_id, user_id, emoji, created_at FROM comment_reactions "
                f"WHERE comment_id IN {among(comment_ids)} ORDER BY created_at",
                comment_ids,
            ).fetchall()
            return [Reaction(r[0], r[1], r[2], to_utc(r[3])) for r in rows]

        return await self._db.read(select) if comment_ids else []

    async def mentions(self, comment_ids: list[str]) -> dict[str, list[Mention]]:
        def select(cur: Cursor) -> dict[str, list[Mention]]:
            rows = cur.execute(
                "SELECT comment_id, subject_kind, subject_id FROM comment_mentions "
                f"WHERE comment_id IN {among(comment_ids)}",
                comment_ids,
            ).fetchall()
            found: dict[str, list[Mention]] = {}
            for row in rows:
                found.setdefault(row[0], []).append(Mention(row[1], row[2]))
            return found

        return await self._db.read(select) if comment_ids else {}
