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


def _movable(cur: Cursor, digest: str) -> list[tuple[str, str, str, int]]:
    """(version, dataset, project, rows) of the files on ``digest`` that may move: none of a
    dataset under a legal hold (its bytes stay as they are) or with an erasure waiting or under
    way (which rewrites the object itself, and would otherwise find its version changed)."""
    rows = cur.execute(
        "SELECT f.version_id, v.dataset_id, v.project_id, f.row_count FROM dataset_files f "
        "JOIN dataset_versions v ON v.id = f.version_id "
        "WHERE f.object_hash = ? AND f.location IS NULL ORDER BY f.version_id",
        [digest],
    ).fetchall()
    erasing = {
        str(row[0])
        for row in cur.execute(
            "SELECT DISTINCT dataset_id FROM erasure_requests WHERE state IN ('queued', 'running')"
        ).fetchall()
    }
    held: dict[tuple[str, str], bool] = {}
    movable = []
    for version_id, dataset_id, project_id, count in rows:
        key = (dataset_id, project_id)
        if key not in held:
            held[key] = any(
                active_on(cur, kind, object_id) is not None
                for kind, object_id in (("dataset", dataset_id), ("project", project_id))
            )
        if not held[key] and dataset_id not in erasing:
            movable.append((str(version_id), str(dataset_id), str(project_id), int(count)))
    return movable


def _move(cur: Cursor, old: str, new: str, size_bytes: int, row_group_rows: int) -> list[Moved]:
    movable = _movable(cur, old)
    if not movable:
        return []
    versions = [version for version, *_ in movable]
    cur.execute(
        "UPDATE dataset_files SET object_hash = ?, size_bytes = ?, row_group_rows = ? "
        f"WHERE object_hash = ? AND location IS NULL AND version_id IN {among(versions)}",
        [new, size_bytes, row_group_rows, old, *versions],
    )
    rows: dict[tuple[str, str], int] = {}
    for _, dataset_id, project_id, count in movable:
        rows[(dataset_id, project_id)] = max(rows.get((dataset_id, project_id), 0), count)
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
