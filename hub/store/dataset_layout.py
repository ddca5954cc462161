"""Stored dataset objects whose row groups make pages slow, and pointing their versions at the
same rows written again (see ``hub.services.data.dataset_layout``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from hub.domain.audit import EventDraft
from hub.domain.data import Column
from hub.store._rows import among, schema_of
from hub.store.database import Cursor, Database
from hub.store.holds import active_on


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """An object Salon stored (not data registered in place) for one or more versions."""

    object_hash: str
    rows: int
    schema: tuple[Column, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Moved:
    """A dataset whose versions were pointed at the object written again."""

    dataset_id: str
    project_id: str
    rows: int


def _next(cur: Cursor, most_rows: int, passed: Sequence[str]) -> Stored | None:
    passing = f"AND f.object_hash NOT IN {among(passed)}" if passed else ""
    row = cur.execute(
        "SELECT f.object_hash, max(f.row_count), min(v.schema_json) FROM dataset_files f "
        "JOIN dataset_versions v ON v.id = f.version_id WHERE f.location IS NULL "
        f"AND (f.row_group_rows IS NULL OR f.row_group_rows > ?) {passing} "
        "GROUP BY f.object_hash ORDER BY max(v.created_at) DESC, f.object_hash LIMIT 1",
        [most_rows, *passed],
    ).fetchone()
    return None if row is None else Stored(str(row[0]), int(row[1]), schema_of(row[2]))


def _note(cur: Cursor, digest: str, row_group_rows: int) -> None:
    cur.execute(
        "UPDATE dataset_files SET row_group_rows = ? WHERE object_hash = ? AND location IS NULL",
        [row_group_rows, digest],
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _File:
    """A version's file on the object being replaced."""

    version_id: str
    dataset_id: str
    project_id: str
    rows: int
    size_bytes: int


def _movable(cur: Cursor, digest: str) -> list[_File]:
    """The files on ``digest`` that may move: none of a dataset under a legal hold (its bytes
    stay as they are) or with an erasure waiting or under way (which rewrites the object itself,
    and would otherwise find its version changed)."""
    files = [
        _File(str(row[0]), str(row[1]), str(row[2]), int(row[3]), int(row[4]))
        for row in cur.execute(
            "SELECT f.version_id, v.dataset_id, v.project_id, f.row_count, f.size_bytes "
            "FROM dataset_files f JOIN dataset_versions v ON v.id = f.version_id "
            "WHERE f.object_hash = ? AND f.location IS NULL ORDER BY f.version_id",
            [digest],
        ).fetchall()
    ]
    erasing = {
        str(row[0])
        for row in cur.execute(
            "SELECT DISTINCT dataset_id FROM erasure_requests WHERE state IN ('queued', 'running')"
        ).fetchall()
    }
    held: dict[tuple[str, str], bool] = {}
    for f in files:
        if (f.dataset_id, f.project_id) not in held:
            held[(f.dataset_id, f.project_id)] = any(
                active_on(cur, kind, object_id) is not None
                for kind, object_id in (("dataset", f.dataset_id), ("project", f.project_id))
            )
    return [
        f for f in files if not held[(f.dataset_id, f.project_id)] and f.dataset_id not in erasing
    ]


def _move(cur: Cursor, old: str, new: str, size_bytes: int, row_group_rows: int) -> list[Moved]:
    movable = _movable(cur, old)
    if not movable:
        return []
    versions = [f.version_id for f in movable]
    cur.execute(
        "UPDATE dataset_files SET object_hash = ?, size_bytes = ?, row_group_rows = ? "
        f"WHERE object_hash = ? AND location IS NULL AND version_id IN {among(versions)}",
        [new, size_bytes, row_group_rows, old, *versions],
    )
    # A version's size is its objects' (one, for an upload): it changes by as much as theirs.
    for f in movable:
        cur.execute(
            "UPDATE dataset_versions SET size_bytes = size_bytes + ? WHERE id = ?",
            [size_bytes - f.size_bytes, f.version_id],
        )
    rows: dict[tuple[str, str], int] = {}
    for f in movable:
        rows[(f.dataset_id, f.project_id)] = max(rows.get((f.dataset_id, f.project_id), 0), f.rows)
    return [Moved(dataset, project, count) for (dataset, project), count in rows.items()]


class DatasetLayoutStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def next(self, most_rows: int, passed: Sequence[str]) -> Stored | None:
        """The most recently used object Salon stored whose row groups were never looked at or
        hold more than ``most_rows``, leaving out ``passed``; None when there is none."""
        return await self._db.read(_next, most_rows, list(passed))

    async def note(self, digest: str, row_group_rows: int) -> None:
        """Record how many rows the object's biggest row group holds."""
        await self._db.write(_note, digest, row_group_rows)

    async def move(
        self,
        old: str,
        new: str,
        size_bytes: int,
        row_group_rows: int,
        *,
        audit: Callable[[list[Moved]], Sequence[EventDraft]],
    ) -> list[Moved]:
        """Point the versions on object ``old`` at ``new`` (the same rows), in one transaction,
        except those of a dataset under a legal hold or being erased; the datasets moved."""
        return await self._db.audited_write(audit, _move, old, new, size_bytes, row_group_rows)
