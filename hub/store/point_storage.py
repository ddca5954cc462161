"""Where a hub's metric points are written, the part of ``Database`` that puts, drops, copies
and compacts them.

In a DuckDB file of its own the points are a table like any other, written in the transaction
of the change that brings them. Hubs sharing PostgreSQL keep them in a DuckLake beside it
(Parquet files and a catalog), which DuckDB writes in a transaction of its own: a DuckDB
transaction writes one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.store._rows import among
from hub.store.backends import LAKE, Backend, Shared, committed
from hub.store.prompt_switches import PromptLock
from hub.store.touched import Recording

if TYPE_CHECKING:
    from hub.store.database import Cursor


class PointStorage:
    """Mixed into ``Database``, whose lock, threads and transactions it uses."""

    backend: Backend
    _write_lock: PromptLock
    _writer: ThreadPoolExecutor

    if TYPE_CHECKING:

        def _answering(self) -> contextlib.AbstractContextManager[None]: ...

        def _transaction(
            self, *, changes: bool = True
        ) -> contextlib.AbstractContextManager[Cursor]: ...

        def _thread_cursor(self, name: str) -> Cursor: ...

    def put_points(self, cursor: Cursor, points: pa.Table, batch: str | None) -> None:
        """Store metric points (series_id, step, ts, value) as part of the caller's write. In
        a DuckDB file they join the caller's transaction. On a shared database they go to the
        DuckLake in a transaction of their own (DuckDB writes one database per transaction),
        committed before the caller's: points a crash left without their batch's record carry
        its id, and the retry of that batch replaces them. Points of many batches say each
        one's in a ``batch`` column (empty: a batch without an id)."""
        tags = points.column("batch") if "batch" in points.column_names else None
        points = points.select(["series_id", "step", "ts", "value"])
        if not self._has_lake:
            if isinstance(cursor, Recording):  # it cannot read what a relation inserts into
                cursor = cursor.noting({"metrics"})
            cursor.from_arrow(points).insert_into("metrics")
            return
        unnamed = f"unnamed:{uuid.uuid4().hex}"
        if tags is None:
            tags = pa.repeat(pa.scalar(batch or unnamed, pa.string()), points.num_rows)
        tags = pc.fill_null(tags, unnamed)
        named = sorted(set(pc.unique(tags).to_pylist()) - {unnamed})
        with self._in_lake() as lake:
            if named:
                lake.execute(f"DELETE FROM metrics WHERE batch IN {among(named)}", named)
            lake.from_arrow(points.append_column("batch", tags)).insert_into("metrics")

    def drop_points(self, cursor: Cursor, series: str, params: list[Any]) -> None:
        """Remove the points of the series ``series`` selects, as part of the caller's
        write. In a DuckDB file they go in the caller's transaction. On a shared database
        the series are recorded, and :meth:`drop_purged_points` removes them from the
        DuckLake once the caller's write has committed."""
        if not self._has_lake:
            cursor.execute(f"DELETE FROM metrics WHERE series_id IN ({series})", params)
            return
        cursor.execute(f"INSERT INTO purged_series {series}", params)

    async def drop_purged_points(self) -> None:
        """Remove the points of purged series from the DuckLake, then their record, under
        the hubs' write lock like every write to the lake (a hub that dies in between leaves
        the record, and the next call finishes)."""
        if self._has_lake:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._drop_purged_points)

    def _drop_purged_points(self) -> None:
        with self._write_lock, self._answering(), self._transaction() as cursor:
            listed = cursor.execute("SELECT DISTINCT series_id FROM purged_series").fetchall()
            series = [row[0] for row in listed]
            if not series:
                return
            with self._in_lake() as lake:
                lake.execute(f"DELETE FROM metrics WHERE series_id IN {among(series)}", series)
            cursor.execute(f"DELETE FROM purged_series WHERE series_id IN {among(series)}", series)

    def copy_points(self, cursor: Cursor, source: str) -> int:
        """Copy every point of the table ``source`` (series_id, step, ts, value) in, as
        :meth:`put_points` stores them (``salon db copy``); how many. Copied again, the
        earlier copy is replaced."""
        if not self._has_lake:
            cursor.execute("DELETE FROM metrics")
            cursor.execute(f"INSERT INTO metrics SELECT series_id, step, ts, value FROM {source}")
        else:
            with self._in_lake() as lake:
                lake.execute("DELETE FROM metrics WHERE batch = 'copied'")
                lake.execute(
                    f"INSERT INTO metrics SELECT series_id, step, ts, value, 'copied' FROM {source}"
                )
        found = cursor.execute(f"SELECT count(*) FROM {source}").fetchone()
        return int(found[0]) if found else 0

    def compact_points(self, before: datetime) -> None:
        """Merge the DuckLake's adjacent small files (each ingest request writes one) and
        delete the files merged away before ``before`` (a reader may still be on them until
        then). Done under the hubs' write lock, so that no ingest commits in between."""
        if not self._has_lake:
            return
        with self._write_lock, self._answering(), self._transaction():
            lake = self._lake_cursor()
            # Requests of up to 10 points are kept in the catalog's tables: write them out.
            lake.execute(f"CALL ducklake_flush_inlined_data('{LAKE}')")
            lake.execute(f"CALL ducklake_merge_adjacent_files('{LAKE}')")
            lake.execute(
                f"CALL ducklake_expire_snapshots('{LAKE}', older_than => ?::TIMESTAMPTZ)",
                [before.isoformat()],
            )
            lake.execute(
                f"CALL ducklake_cleanup_old_files('{LAKE}', older_than => ?::TIMESTAMPTZ)",
                [before.isoformat()],
            )

    @property
    def _has_lake(self) -> bool:
        """Whether metric points are in a DuckLake (hubs sharing PostgreSQL)."""
        return isinstance(self.backend, Shared) and self.backend.points is not None

    def _lake_cursor(self) -> Cursor:
        """A second cursor of the calling thread, for the DuckLake's own transactions."""
        return self._thread_cursor("lake")

    def _in_lake(self) -> contextlib.AbstractContextManager[Cursor]:
        """The DuckLake's cursor in a transaction of its own, committed on leaving."""
        return committed(self._lake_cursor())
