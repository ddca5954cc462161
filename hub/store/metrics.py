"""Metric points: columnar ingest, server-side downsampling and full-resolution Arrow export.

A *series* is one metric (key) of one run, stored against a 63-bit series id (see
:mod:`hub.store.metric_ingest`): appends run at several million points a second and a run's
points sit together, so zone maps skip the rest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from hub.domain.audit import EventDraft
from hub.domain.tracking import BATCH_SCHEMA, MetricSeries, MetricSummary
from hub.store._rows import among, one_of
from hub.store.answers import Kept
from hub.store.database import Cursor, Database
from hub.store.hidden import live
from hub.store.metric_ingest import ingest_batch

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("key", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        *(field for field in BATCH_SCHEMA if field.name != "key"),
    ]
)


def _lookup(cur: Cursor, run_ids: list[str], keys: list[str] | None) -> dict[int, tuple[str, str]]:
    """series id → (run id, key) for the runs (and keys) asked for."""
    params: list[Any] = [*run_ids]
    where = f"run_id IN {among(run_ids)}"
    if keys:
        where += f" AND key IN {among(keys)}"
        params += keys
    rows = cur.execute(
        f"SELECT series_id, run_id, key FROM metric_summaries WHERE {where}", params
    ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def _series(
    cur: Cursor,
    run_ids: list[str],
    keys: list[str],
    buckets: int,
    step_min: int | None,
    step_max: int | None,
    kept: Kept | None,
) -> list[MetricSeries]:
    """One pass over the points: each series' step range (from its summary, or the zoom range)
    is cut into ``buckets`` equal buckets of steps. A range no wider than ``buckets`` steps has
    one bucket per step, that is every point. Curves in ``kept`` are not read again while
    their series' summary (points, first and last step, last time) is the same: every ingest
    changes it, and a series' points change no other way (a purge removes its summary too)."""
    ranges: dict[int, tuple[str, str, int, int]] = {}
    versions: dict[int, tuple[Any, ...]] = {}
    found: list[MetricSeries] = []
    for series_id, run_id, key, first, last, last_ts, count in cur.execute(
        "SELECT series_id, run_id, key, min_step, last_step, last_ts, point_count "
        f"FROM metric_summaries WHERE run_id IN {among(run_ids)} AND key IN {among(keys)}",
        [*run_ids, *keys],
    ).fetchall():
        low = first if step_min is None else max(first, step_min)
        high = last if step_max is None else min(last, step_max)
        if low > high:
            continue
        version = (series_id, run_id, key, first, last, last_ts, count, low, high, buckets)
        answer = None if kept is None else kept.get(version)
        if not isinstance(answer, MetricSeries):
            ranges[series_id] = (run_id, key, low, high)
            versions[series_id] = version
        else:
            found.append(answer)
    for series_id, series in _bucketed(cur, ranges, buckets):
        found.append(series)
        if kept is not None:
            kept.keep(versions[series_id], series, weight=len(series.steps))
    wanted = {pair: index for index, pair in enumerate((r, k) for r in run_ids for k in keys)}
    return sorted(found, key=lambda series: wanted.get((series.run_id, series.key), 0))


def _bucketed(
    cur: Cursor, ranges: dict[int, tuple[str, str, int, int]], buckets: int
) -> list[tuple[int, MetricSeries]]:
    """The series ``ranges`` names (series id → run id, key, first and last step), each cut
    into ``buckets`` buckets, in one query, with their series ids."""
    if not ranges:
        return []
    # One SELECT per series with its bounds as constants (DuckDB prunes and filters best that
    # way), glued with UNION ALL. Whole-number bucketing is twice as fast as floor() over
    # doubles; it is used unless (step - lo) * buckets could overflow 64 bits.
    params: dict[str, Any] = {"buckets": buckets}
    parts = []
    for index, (series_id, (_, _, low, high)) in enumerate(ranges.items()):
        params.update({f"s{index}": series_id, f"lo{index}": low, f"hi{index}": high})
        width = f"($hi{index} - $lo{index} + 1)"
        bucket = (
            f"((step - $lo{index}) * $buckets // {width})::INTEGER"
            if (high - low + 1) * buckets < 2**62
            else f"floor((step - $lo{index}) * $buckets::DOUBLE / {width})::INTEGER"
        )
        parts.append(
            f"SELECT $s{index} AS series_id, {bucket} AS bucket, max(step) AS step, "
            "max(ts) AS ts, arg_max(value, step) AS value, min(value) AS low, "
            "max(value) AS high, count(*) AS n FROM metrics "
            f"WHERE series_id = $s{index} AND step BETWEEN $lo{index} AND $hi{index} "
            "GROUP BY bucket"
        )
    found = cur.execute(
        " UNION ALL ".join(f"({part})" for part in parts) + " ORDER BY series_id, bucket", params
    ).fetchnumpy()
    result = []
    boundaries = np.flatnonzero(np.diff(found["series_id"])) + 1
    for rows in np.split(np.arange(len(found["series_id"])), boundaries):
        if not len(rows):
            continue
        series_id = int(found["series_id"][rows[0]])
        run_id, key, _, _ = ranges[series_id]
        counts = found["n"][rows]
        result.append(
            (
                series_id,
                MetricSeries(
                    run_id=run_id,
                    key=key,
                    steps=found["step"][rows].tolist(),
                    timestamps=found["ts"][rows].tolist(),
                    values=found["value"][rows].tolist(),
                    mins=found["low"][rows].tolist(),
                    maxs=found["high"][rows].tolist(),
                    point_count=int(counts.sum()),
                    downsampled=bool(counts.max() > 1),
                ),
            )
        )
    return result


CURVE_BUCKETS_KEPT = 200_000

HISTORY_BATCH_ROWS = 1_000_000


def _history_batches(
    cur: Cursor, labels: list[tuple[int, str, str]], rows_per_batch: int
) -> Iterator[pa.RecordBatch]:
    """Points of the labelled series (id, run, key), in label order then by step, as record
    batches of about ``rows_per_batch`` rows with run and key as dictionary columns."""
    params = {f"s{index}": series_id for index, (series_id, _, _) in enumerate(labels)}
    position = "CASE series_id " + " ".join(f"WHEN $s{i} THEN {i}" for i in range(len(labels)))
    reader = cur.execute(
        f"SELECT ({position} END)::INTEGER AS position, step, ts, value FROM metrics "
        f"WHERE series_id IN ({', '.join(f'${name}' for name in params)}) "
        "ORDER BY position, step, ts",
        params,
    ).fetch_record_batch(rows_per_batch)
    # One dictionary for the whole stream: a 36-character run id is not repeated per point,
    # and an IPC stream sends each dictionary once.
    run_names = pa.array([run_id for _, run_id, _ in labels], pa.string())
    key_names = pa.array([key for _, _, key in labels], pa.string())
    for batch in reader:
        index = batch.column("position")
        yield pa.RecordBatch.from_arrays(
            [
                pa.DictionaryArray.from_arrays(index, run_names),
                pa.DictionaryArray.from_arrays(index, key_names),
                batch.column("step"),
                batch.column("ts"),
                batch.column("value"),
            ],
            schema=HISTORY_SCHEMA,
        )


def _labels(cur: Cursor, run_ids: list[str], keys: list[str] | None) -> list[tuple[int, str, str]]:
    names = _lookup(cur, run_ids, keys)
    return sorted(
        ((series_id, run_id, key) for series_id, (run_id, key) in names.items()),
        key=lambda label: (label[1], label[2]),
    )


def _summaries(cur: Cursor, run_ids: list[str], listed: bool) -> list[MetricSummary]:
    condition, params = one_of("run_id", run_ids, listed)
    rows = cur.execute(
        "SELECT run_id, key, last_step, last_ts, last_value, min_value, max_value, point_count "
        f"FROM metric_summaries WHERE {condition} ORDER BY run_id, key",
        params,
    ).fetchall()
    return [MetricSummary(*row) for row in rows]


def _points_json(
    cur: Cursor, run_id: str, key: str, limit: int, offset: int
) -> tuple[str, int, bool]:
    """Written by DuckDB: a 25,000-point page is several times faster than through Python."""
    row = cur.execute(
        "SELECT series_id, point_count FROM metric_summaries WHERE run_id = ? AND key = ?",
        [run_id, key],
    ).fetchone()
    if row is None:
        return "[]", 0, False
    value = (
        "CASE WHEN isnan(value) THEN '\"NaN\"' WHEN isinf(value) AND value > 0 THEN "
        "'\"Infinity\"' WHEN isinf(value) THEN '\"-Infinity\"' ELSE value::VARCHAR END"
    )
    found = cur.execute(
        "SELECT '[' || coalesce(string_agg('{\"key\":' || $key || ',\"value\":' || "
        f"{value} || ',\"timestamp\":' || ts || ',\"step\":' || step || '}}', ',' "
        "ORDER BY step, ts, value), '') || ']', count(*) FROM (SELECT step, ts, value FROM metrics "
        "WHERE series_id = $series ORDER BY step, ts, value LIMIT $limit OFFSET $offset)",
        {"key": json.dumps(key), "series": row[0], "limit": limit, "offset": offset},
    ).fetchone()
    assert found is not None
    return str(found[0]), int(found[1]), offset + limit < int(row[1])


class MetricStore:
    """Reads and writes metric points and their per-series summaries."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Curves already cut into buckets, up to CURVE_BUCKETS_KEPT buckets in all (about 160
        # bytes each); not with hubs sharing a database (another hub's ingest is not seen).
        self._curves = None if db.backend.shared else Kept(CURVE_BUCKETS_KEPT)

    async def ingest(
        self, run_id: str, batch_id: str, batch: pa.Table, *, audit: Sequence[EventDraft]
    ) -> int:
        """Store a batch (columns of ``BATCH_SCHEMA``) exactly once; returns points stored."""
        return await self._db.audited_write(
            audit, ingest_batch, self._db.put_points, run_id, batch_id, batch
        )

    async def series(
        self,
        run_ids: list[str],
        keys: list[str],
        buckets: int,
        step_min: int | None = None,
        step_max: int | None = None,
    ) -> list[MetricSeries]:
        """Each (run, key) series cut into at most ``buckets`` buckets over its step range.

        A bucket keeps its last step with that step's value, its latest time and its min and
        max values, so that spikes survive downsampling. A step range no wider than
        ``buckets`` comes back whole.
        """
        if not run_ids or not keys:
            return []
        return await self._db.read(
            _series, run_ids, keys, buckets, step_min, step_max, self._curves
        )

    async def history(
        self,
        run_ids: list[str],
        keys: list[str] | None,
        rows_per_batch: int = HISTORY_BATCH_ROWS,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Every point of the given runs (and keys), ordered by run, key and step, as record
        batches of ``HISTORY_SCHEMA``, read ``rows_per_batch`` rows at a time."""
        labels = await self._db.read(_labels, run_ids, keys) if run_ids else []
        if not labels:
            return
        async for batch in self._db.stream(_history_batches, labels, rows_per_batch):
            yield batch

    async def points_json(
        self, run_id: str, key: str, limit: int, offset: int
    ) -> tuple[str, int, bool]:
        """One page of a series' points by step, as a JSON array of ``{"key", "value",
        "timestamp", "step"}`` objects (MLflow's metric; NaN and infinities as the strings
        "NaN", "Infinity", "-Infinity"), how many it holds and whether more follow."""
        return await self._db.read(_points_json, run_id, key, limit, offset)

    async def count(self) -> int:
        """Every metric point stored, by any way in (Arrow, GraphQL, MLflow, imports)."""
        row = await self._db.read(
            lambda cur: cur.execute("SELECT count(*) FROM metrics").fetchone()
        )
        return int(row[0]) if row else 0

    async def summaries(self, run_ids: list[str]) -> list[MetricSummary]:
        """Latest value, range and count of every metric of the given runs."""
        if not run_ids:
            return []
        return await self._db.read_kept(_summaries, run_ids, not self._db.backend.shared)

    async def keys(self, project_id: str) -> list[str]:
        """Distinct metric names logged in a project."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT DISTINCT s.key FROM metric_summaries s JOIN runs r ON r.id = s.run_id "
                f"WHERE r.project_id = ? AND {live('run', 'r.id')} ORDER BY s.key",
                [project_id],
            ).fetchall()
        )
        return [row[0] for row in rows]
