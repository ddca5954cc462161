"""Legal holds: placing, releasing and listing them, and which trash entries they cover."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.lifecycle import LegalHold
from hub.errors import Conflict, NotFound
from hub.store._rows import among, maybe_utc, qualified, to_naive, to_utc
from hub.store.database import Cursor, Database

_COLUMNS = "id, kind, object_id, label, reason, placed_by, placed_at, released_by, released_at"

# Whether hold ``h`` covers trashed object ``t`` (of entry ``e``): a project hold its whole
# project; a dataset hold the dataset and its versions; a person hold what they made.
_COVERS = """(
    (h.kind = 'project' AND h.object_id = e.project_id)
    OR (h.kind = 'dataset' AND (
        (t.kind = 'dataset' AND t.object_id = h.object_id)
        OR (t.kind = 'dataset_version' AND t.object_id IN
            (SELECT id FROM dataset_versions WHERE dataset_id = h.object_id))))
    OR (h.kind = 'person' AND (SELECT name FROM users WHERE id = h.object_id) IN (
        SELECT user_name FROM runs WHERE id = t.object_id
        UNION SELECT created_by FROM runs WHERE id = t.object_id
        UNION SELECT created_by FROM experiments WHERE id = t.object_id
        UNION SELECT created_by FROM datasets WHERE id = t.object_id
        UNION SELECT author FROM dataset_versions WHERE id = t.object_id
        UNION SELECT created_by FROM projects WHERE id = t.object_id))
)"""


def _hold(row: tuple[Any, ...]) -> LegalHold:
    return LegalHold(
        id=row[0],
        kind=row[1],
        object_id=row[2],
        label=row[3],
        reason=row[4],
        placed_by=row[5],
        placed_at=to_utc(row[6]),
        released_by=row[7],
        released_at=maybe_utc(row[8]),
    )


def holding(cur: Cursor, entry_ids: list[str]) -> dict[str, LegalHold]:
    """The entries (of ``entry_ids``) an active hold covers, with one hold that does."""
    if not entry_ids:
        return {}
    columns = qualified(_COLUMNS, "h")
    rows = cur.execute(
        f"SELECT DISTINCT ON (t.entry_id) t.entry_id, {columns} FROM trashed t "
        "JOIN trash e ON e.id = t.entry_id JOIN legal_holds h ON h.released_at IS NULL "
        f"AND {_COVERS} WHERE t.entry_id IN {among(entry_ids)} ORDER BY t.entry_id, h.placed_at",
        entry_ids,
    ).fetchall()
    return {row[0]: _hold(row[1:]) for row in rows}


def active_on(cur: Cursor, kind: str, object_id: str) -> LegalHold | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM legal_holds WHERE kind = ? AND object_id = ? "
        "AND released_at IS NULL ORDER BY placed_at LIMIT 1",
        [kind, object_id],
    ).fetchone()
    return None if row is None else _hold(row)


def _place(cur: Cursor, hold: LegalHold) -> LegalHold:
    already = active_on(cur, hold.kind, hold.object_id)
    if already is not None:
        raise Conflict(f"There is already a {already.describe()}.")
    cur.execute(
        f"INSERT INTO legal_holds ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
        [
            hold.id,
            hold.kind,
            hold.object_id,
            hold.label,
            hold.reason,
            hold.placed_by,
            to_naive(hold.placed_at),
        ],
    )
    return hold


def _release(cur: Cursor, hold_id: str, by: str, at: datetime) -> LegalHold:
    row = cur.execute(f"SELECT {_COLUMNS} FROM legal_holds WHERE id = ?", [hold_id]).fetchone()
    if row is None:
        raise NotFound(f"No legal hold with id {hold_id!r}.", field="id")
    hold = _hold(row)
    if hold.released_at is not None:
        raise Conflict(f"That hold was released by {hold.released_by} already.", field="id")
    cur.execute(
        "UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ?",
        [by, to_naive(at), hold_id],
    )
    return dataclasses.replace(hold, released_by=by, released_at=at)


class HoldStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def place(self, hold: LegalHold, *, audit: Sequence[EventDraft]) -> LegalHold:
        """Store the hold; Conflict when an active one covers the same thing."""
        return await self._db.audited_write(audit, _place, hold)

    async def release(
        self, hold_id: str, by: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> LegalHold:
        return await self._db.audited_write(audit, _release, hold_id, by, at)

    async def listed(self, released: bool = False) -> list[LegalHold]:
        """Active holds (with ``released``, every hold), newest first."""
        where = "" if released else "WHERE released_at IS NULL "
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM legal_holds {where}ORDER BY placed_at DESC"
            ).fetchall()
        )
        return [_hold(row) for row in rows]

    async def active_on(self, kind: str, object_id: str) -> LegalHold | None:
        return await self._db.read(active_on, kind, object_id)
