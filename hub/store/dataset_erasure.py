"""Erasing a data subject's rows from every version of a dataset: the requests and their state,
finding the rows, writing each affected object again without them, and swapping the versions
onto the new objects in one transaction (annotations and review items renumbered, those on
erased rows removed), with the erasure's record and its request marked done."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.domain.audit import EventDraft
from hub.domain.lifecycle import DatasetErasure, Rewrite
from hub.errors import Conflict, InvalidInput
from hub.run_filter import Filter
from hub.store._rows import encoded, maybe_utc, schema_of, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.datasets import filter_sql
from hub.store.holds import active_on


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """A version as an erasure sees it (trashed ones included)."""

    id: str
    number: int
    columns: set[str]
    object_hash: str
    location: str | None  # registered in place: Salon cannot rewrite it
    files: int


# A filter's NULL (a missing value) matches nothing: such a row stays.
_MATCHED = "coalesce(({condition}), false)"
# How far a kept row moves up: the erased rows before it.
_SHIFT = "row_number - len(list_filter(?::BIGINT[], n -> n < row_number))"


def _versions(cur: Cursor, dataset_id: str) -> list[Stored]:
    rows = cur.execute(
        "SELECT v.id, v.number, v.schema_json, min(f.object_hash), min(f.location), "
        "count(f.object_hash) FROM dataset_versions v LEFT JOIN dataset_files f "
        "ON f.version_id = v.id WHERE v.dataset_id = ? GROUP BY v.id, v.number, v.schema_json "
        "ORDER BY v.number",
        [dataset_id],
    ).fetchall()
    return [
        Stored(str(r[0]), int(r[1]), {c.name for c in schema_of(r[2])}, str(r[3]), r[4], int(r[5]))
        for r in rows
    ]


def _compared(work: Any) -> Any:
    try:
        return work()
    except (duckdb.ConversionException, duckdb.BinderException) as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidInput(
            f"The filter does not fit the dataset's columns ({reason}).", field="filter"
        ) from None


def _matching(cur: Cursor, path: str, where: Filter) -> list[int]:
    params: list[Any] = [path]
    condition = _MATCHED.format(condition=filter_sql(where, params))
    rows = _compared(
        lambda: cur.execute(
            "SELECT file_row_number FROM read_parquet(?, file_row_number = true) "
            f"WHERE {condition} ORDER BY 1",
            params,
        ).fetchall()
    )
    return [int(row[0]) for row in rows]


def _count_matching(cur: Cursor, paths: list[str], where: Filter) -> int:
    params: list[Any] = [paths]
    condition = _MATCHED.format(condition=filter_sql(where, params))
    row = _compared(
        lambda: cur.execute(
            f"SELECT count(*) FROM read_parquet(?, union_by_name = true) WHERE {condition}",
            params,
        ).fetchone()
    )
    return int(row[0]) if row else 0


def _write_without(cur: Cursor, path: str, where: Filter, target: Path) -> None:
    params: list[Any] = [path]
    condition = _MATCHED.format(condition=filter_sql(where, params))
    kept = cur.sql(f"SELECT * FROM read_parquet(?) WHERE NOT {condition}", params=params)
    _compared(lambda: kept.write_parquet(str(target), compression="zstd"))


def _swap(
    cur: Cursor, erasure: DatasetErasure, rewrites: Sequence[Rewrite], content: dict[str, str]
) -> DatasetErasure:
    for kind, object_id in (("dataset", erasure.dataset_id), ("project", erasure.project_id)):
        hold = active_on(cur, kind, object_id)
        if hold is not None:
            raise Conflict(f"Erasing rows is refused: a {hold.describe()} covers this dataset.")
    for rewrite in rewrites:
        current = cur.execute(
            "SELECT object_hash FROM dataset_files WHERE version_id = ?", [rewrite.version_id]
        ).fetchone()
        if current is None or current[0] != rewrite.old_hash:
            raise Conflict(
                f"Version {rewrite.number} changed while its rows were being erased (another "
                "erasure?); nothing was changed. Run the erasure again."
            )
        cur.execute(
            "UPDATE dataset_files SET object_hash = ?, row_count = ?, size_bytes = ?, "
            "row_group_rows = NULL WHERE version_id = ?",
            [rewrite.new_hash, rewrite.rows, rewrite.size_bytes, rewrite.version_id],
        )
        cur.execute(
            "UPDATE dataset_versions SET row_count = ?, size_bytes = ?, profile_json = ?, "
            "content_hash = ? WHERE id = ?",
            [
                rewrite.rows,
                rewrite.size_bytes,
                encoded(rewrite.profile),
                content[rewrite.new_hash],
                rewrite.version_id,
            ],
        )
        _renumber(cur, rewrite)
    cur.execute(
        "UPDATE erasure_requests SET state = 'done', problem = NULL, updated_at = ? WHERE id = ?",
        [to_naive(erasure.finished_at), erasure.id],
    )
    cur.execute(
        "INSERT INTO dataset_erasures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            erasure.id,
            erasure.dataset_id,
            erasure.project_id,
            erasure.filter,
            erasure.requested_by,
            to_naive(erasure.requested_at),
            to_naive(erasure.finished_at),
            json.dumps({str(number): count for number, count in erasure.rows}),
        ],
    )
    return erasure


def _renumber(cur: Cursor, rewrite: Rewrite) -> None:
    """Annotations and review items point at rows by number: those on erased rows go, the
    others move up past them."""
    erased = list(rewrite.erased)
    if not erased:
        return
    version = rewrite.version_id
    cur.execute(
        "DELETE FROM dataset_annotations WHERE version_id = ? "
        "AND list_contains(?::BIGINT[], row_number)",
        [version, erased],
    )
    cur.execute(
        f"UPDATE dataset_annotations SET row_number = {_SHIFT} WHERE version_id = ?",
        [erased, version],
    )
    queues = "(SELECT id FROM review_queues WHERE dataset_version_id = ?)"
    cur.execute(
        f"DELETE FROM review_judgements WHERE queue_id IN {queues} AND position IN (SELECT "
        f"position FROM review_items WHERE queue_id IN {queues} "
        "AND list_contains(?::BIGINT[], row_number))",
        [version, version, erased],
    )
    cur.execute(
        f"DELETE FROM review_items WHERE queue_id IN {queues} "
        "AND list_contains(?::BIGINT[], row_number)",
        [version, erased],
    )
    cur.execute(
        f"UPDATE review_items SET row_number = {_SHIFT} WHERE queue_id IN {queues}",
        [erased, version],
    )


_REQUEST = "id, dataset_id, project_id, filter, requested_by, requested_at, state, problem"
_LISTED = (
    "SELECT r.id, r.dataset_id, r.project_id, r.filter, r.requested_by, r.requested_at, "
    "r.state, r.problem, CASE WHEN r.state IN ('done', 'failed') THEN r.updated_at END, "
    "e.rows_json FROM erasure_requests r LEFT JOIN dataset_erasures e ON e.id = r.id"
)


def _erasure(row: tuple[Any, ...]) -> DatasetErasure:
    counts = json.loads(row[9]) if row[9] else {}
    return DatasetErasure(
        id=row[0],
        dataset_id=row[1],
        project_id=row[2],
        filter=row[3],
        requested_by=row[4],
        requested_at=to_utc(row[5]),
        finished_at=maybe_utc(row[8]),
        rows=tuple(sorted((int(number), int(count)) for number, count in counts.items())),
        state=row[6],
        problem=row[7],
    )


def _request(cur: Cursor, erasure: DatasetErasure) -> DatasetErasure:
    cur.execute(
        f"INSERT INTO erasure_requests ({_REQUEST}, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
        "'queued', NULL, ?)",
        [
            erasure.id,
            erasure.dataset_id,
            erasure.project_id,
            erasure.filter,
            erasure.requested_by,
            to_naive(erasure.requested_at),
            to_naive(erasure.requested_at),
        ],
    )
    return erasure


def _next(cur: Cursor, at: datetime) -> DatasetErasure | None:
    """The oldest request not done or failed, marked running. One left running was cut off
    by a hub that stopped: only the holder of the work's lease carries requests out."""
    row = cur.execute(
        f"{_LISTED} WHERE r.state IN ('queued', 'running') ORDER BY r.requested_at, r.id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    cur.execute(
        "UPDATE erasure_requests SET state = 'running', updated_at = ? WHERE id = ?",
        [to_naive(at), row[0]],
    )
    return dataclasses.replace(_erasure(row), state="running")


def _failed(cur: Cursor, erasure_id: str, problem: str, at: datetime) -> None:
    cur.execute(
        "UPDATE erasure_requests SET state = 'failed', problem = ?, updated_at = ? "
        "WHERE id = ? AND state <> 'done'",
        [problem, to_naive(at), erasure_id],
    )


class ErasureStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def versions(self, dataset_id: str) -> list[Stored]:
        """Every version of the dataset, trashed ones too, by number."""
        return await self._db.read(_versions, dataset_id)

    async def matching(self, path: str, where: Filter) -> list[int]:
        """The numbers of the object's rows the filter matches, ascending."""
        return await self._db.read(_matching, path, where)

    async def write_without(self, path: str, where: Filter, target: Path) -> None:
        """The object's rows the filter does not match, as Parquet at ``target``."""
        await self._db.read(_write_without, path, where, target)

    async def swap(
        self,
        erasure: DatasetErasure,
        rewrites: Sequence[Rewrite],
        content: dict[str, str],
        *,
        audit: Sequence[EventDraft],
    ) -> DatasetErasure:
        """Point the versions at their new objects and keep the record, in one transaction;
        Conflict under a legal hold, or when a version changed since it was read."""
        return await self._db.audited_write(audit, _swap, erasure, rewrites, content)

    async def of_dataset(self, dataset_id: str) -> list[DatasetErasure]:
        """The dataset's erasure requests, newest first, in every state."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"{_LISTED} WHERE r.dataset_id = ? ORDER BY r.requested_at DESC, r.id DESC",
                [dataset_id],
            ).fetchall()
        )
        return [_erasure(row) for row in rows]

    async def recent(self, limit: int) -> list[DatasetErasure]:
        """Every dataset's erasure requests, newest first."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"{_LISTED} ORDER BY r.requested_at DESC, r.id DESC LIMIT ?", [limit]
            ).fetchall()
        )
        return [_erasure(row) for row in rows]

    async def count_matching(self, paths: list[str], where: Filter) -> int:
        """How many rows of these objects the filter matches, all together."""
        return await self._db.read(_count_matching, paths, where)

    async def request(
        self, erasure: DatasetErasure, *, audit: Sequence[EventDraft]
    ) -> DatasetErasure:
        """Queue the request for the hub to carry out."""
        return await self._db.audited_write(audit, _request, erasure)

    async def next(self, at: datetime) -> DatasetErasure | None:
        """The oldest request waiting (or cut off), marked running; None when none waits."""
        return await self._db.write(_next, at)

    async def failed(
        self, erasure_id: str, problem: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _failed, erasure_id, problem, at)
