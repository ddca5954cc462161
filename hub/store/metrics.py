"""Metric points: columnar ingest, server-side downsampling and full-resolution Arrow export."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from hub.errors import NotFound
from hub.store.database import Cursor, Database
from hub.store.records import MetricSeries, MetricSummary

# The columns an ingest batch carries; run_id is given once per batch.
BATCH_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("step", pa.int64(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
HISTORY_SCHEMA = pa.schema([pa.field("run_id", pa.string()), *BATCH_SCHEMA])

_MERGE_SUMMARIES = """
MERGE INTO metric_summaries s
USING (
    SELECT key, max(step) AS last_step, arg_max(ts, step) AS last_ts,
           arg_max(value, step) AS last_value, min(value) AS min_value,
           max(value) AS max_value, min(step) AS min_step, count(*) AS point_count
    FROM salon_batch GROUP BY key
) b
ON s.run_id = $run_id AND s.key = b.key
WHEN MATCHED THEN UPDATE SET
    last_value = CASE WHEN b.last_step >= s.last_step THEN b.last_value ELSE s.last_value END,
    last_ts = CASE WHEN b.last_step >= s.last_step THEN b.last_ts ELSE s.last_ts END,
    last_step = greatest(s.last_step, b.last_step),
    min_value = least(s.min_value, b.min_value),
    max_value = greatest(s.max_value, b.max_value),
    min_step = least(s.min_step, b.min_step),
    point_count = s.point_count + b.point_count
WHEN NOT MATCHED THEN INSERT (run_id, key, last_step, last_ts, last_value, min_value,
    max_value, min_step, point_count)
VALUES ($run_id, b.key, b.last_step, b.last_ts, b.last_value, b.min_value, b.max_value,
    b.min_step, b.point_count)
"""


def _ingest(cur: Cursor, run_id: str, batch_id: str, batch: pa.Table) -> int:
    """Append a batch once: a batch id seen before is acknowledged without storing again."""
    if cur.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is None:
        raise NotFound(f"No run with id {run_id!r}.")
    seen = cur.execute(
        "SELECT point_count FROM ingest_batches WHERE batch_id = ? AND run_id = ?",
        [batch_id, run_id],
    ).fetchone()
    if seen is not None:
        return 0
    cur.register("salon_batch", batch)
    try:
        cur.execute(
            "INSERT INTO metrics (run_id, key, step, ts, value) "
            "SELECT $run_id, key, step, ts, value FROM salon_batch",
            {"run_id": run_id},
        )
        cur.execute(_MERGE_SUMMARIES, {"run_id": run_id})
    finally:
        cur.unregister("salon_batch")
    cur.execute(
        "INSERT INTO ingest_batches (batch_id, run_id, point_count, received_at) "
        "VALUES (?, ?, ?, ?)",
        [batch_id, run_id, batch.num_rows, datetime.now(UTC).replace(tzinfo=None)],
    )
    return int(batch.num_rows)


def _in(values: list[str], params: list[Any]) -> str:
    """Placeholders for an IN list; plain IN lets DuckDB prune row groups by zone maps."""
    params.extend(values)
    return "(" + ", ".join("?" for _ in values) + ")"


def _series(
    cur: Cursor,
    run_ids: list[str],
    keys: list[str],
    buckets: int,
    step_min: int | None,
    step_max: int | None,
) -> list[MetricSeries]:
    params: list[Any] = []
    where = f"run_id IN {_in(run_ids, params)} AND key IN {_in(keys, params)}"
    if step_min is not None:
        where += " AND step >= ?"
        params.append(step_min)
    if step_max is not None:
        where += " AND step <= ?"
        params.append(step_max)
    params.extend([buckets, buckets])
    rows = cur.execute(
        f"""
        WITH points AS (SELECT run_id, key, step, ts, value FROM metrics WHERE {where}),
        bounds AS (
            SELECT run_id, key, min(step) AS lo, max(step) AS hi, count(*) AS n
            FROM points GROUP BY run_id, key
        )
        SELECT p.run_id, p.key,
               CASE WHEN b.n <= ? THEN p.step
                    ELSE floor((p.step - b.lo) * ?::DOUBLE / (b.hi - b.lo + 1))::BIGINT
               END AS bucket,
               max(p.step), arg_max(p.ts, p.step), arg_max(p.value, p.step),
               min(p.value), max(p.value), any_value(b.n)
        FROM points p JOIN bounds b ON b.run_id = p.run_id AND b.key = p.key
        GROUP BY p.run_id, p.key, bucket
        ORDER BY p.run_id, p.key, bucket
        """,
        params,
    ).fetchall()
    columns: dict[tuple[str, str], list[list[Any]]] = defaultdict(lambda: [[] for _ in range(5)])
    counts: dict[tuple[str, str], int] = {}
    for run_id, key, _bucket, step, ts, last, low, high, n in rows:
        series = columns[(run_id, key)]
        for index, value in enumerate((step, ts, last, low, high)):
            series[index].append(value)
        counts[(run_id, key)] = int(n)
    result = []
    for (run_id, key), (steps, stamps, values, mins, maxs) in columns.items():
        n = counts[(run_id, key)]
        result.append(MetricSeries(run_id, key, steps, stamps, values, mins, maxs, n, n > buckets))
    return result


def _history(cur: Cursor, run_ids: list[str], keys: list[str] | None) -> pa.Table:
    params: list[Any] = []
    where = f"run_id IN {_in(run_ids, params)}"
    if keys:
        where += f" AND key IN {_in(keys, params)}"
    table = cur.execute(
        f"SELECT run_id, key, step, ts, value FROM metrics WHERE {where} "
        "ORDER BY run_id, key, step, ts",
        params,
    ).to_arrow_table()
    return table.cast(HISTORY_SCHEMA)


def _summaries(cur: Cursor, run_ids: list[str]) -> list[MetricSummary]:
    rows = cur.execute(
        "SELECT run_id, key, last_step, last_ts, last_value, min_value, max_value, point_count "
        "FROM metric_summaries WHERE run_id IN (SELECT unnest(?)) ORDER BY run_id, key",
        [run_ids],
    ).fetchall()
    return [MetricSummary(*row) for row in rows]


class MetricStore:
    """Reads and writes metric points and their per-run summaries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def ingest(self, run_id: str, batch_id: str, batch: pa.Table) -> int:
        """Store a batch (columns of ``BATCH_SCHEMA``) exactly once; returns points stored."""
        return await self._db.write(_ingest, run_id, batch_id, batch)

    async def series(
        self,
        run_ids: list[str],
        keys: list[str],
        buckets: int,
        step_min: int | None = None,
        step_max: int | None = None,
    ) -> list[MetricSeries]:
        """Each (run, key) series cut into at most ``buckets`` buckets over its step range.

        A bucket keeps the last point (step, time, value) and the min and max values, so that
        spikes survive downsampling. Series with no more points than buckets come back whole.
        """
        if not run_ids or not keys:
            return []
        return await self._db.read(_series, run_ids, keys, buckets, step_min, step_max)

    async def history(self, run_ids: list[str], keys: list[str] | None) -> pa.Table:
        """Every point of the given runs (and keys), as an Arrow table of ``HISTORY_SCHEMA``."""
        if not run_ids:
            return HISTORY_SCHEMA.empty_table()
        return await self._db.read(_history, run_ids, keys)

    async def summaries(self, run_ids: list[str]) -> list[MetricSummary]:
        """Latest value, range and count of every metric of the given runs."""
        return await self._db.read(_summaries, run_ids) if run_ids else []

    async def keys(self, project_id: str) -> list[str]:
        """Distinct metric names logged in a project."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT DISTINCT s.key FROM metric_summaries s JOIN runs r ON r.id = s.run_id "
                "WHERE r.project_id = ? ORDER BY s.key",
                [project_id],
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def point_count(self) -> int:
        row = await self._db.read(
            lambda cur: cur.execute("SELECT count(*) FROM metrics").fetchone()
        )
        return int(row[0]) if row else 0
