"""Metric points: columnar ingest, server-side downsampling and full-resolution Arrow export.

A *series* is one metric (key) of one run. Points are stored against a 63-bit series id, which
keeps the points table to four fixed-width columns: appends run at several million points a
second and a run's points sit together, so zone maps skip the rest. The id's high bits are the
run's start time (from its UUIDv7), its low bits a hash of run and key; the rare clash is
resolved by probing, under the store's single writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.domain.audit import EventDraft
from hub.domain.tracking import BATCH_SCHEMA, MetricSeries, MetricSummary
from hub.errors import NotFound
from hub.store._rows import among
from hub.store.database import Cursor, Database
from hub.store.hidden import live

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("key", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        *(field for field in BATCH_SCHEMA if field.name != "key"),
    ]
)

_DOUBLE_COLUMNS = (5, 6, 7)  # last_value, min_value, max_value
_HASH_BITS = 22
_SUMMARY_COLUMNS = (
    "series_id, run_id, key, last_step, last_ts, last_value, min_value, max_value, min_step, "
    "point_count"
)


def candidate_series_id(run_id: str, key: str, attempt: int = 0) -> int:
    """Run start (seconds, from the UUIDv7) in the high bits, a hash of run and key below."""
    try:
        seconds = int(run_id.replace("-", "")[:12], 16) // 1000
    except ValueError:
        seconds = 0
    digest = hashlib.blake2b(f"{run_id}\x00{key}\x00{attempt}".encode(), digest_size=8).digest()
    low = int.from_bytes(digest, "big") & ((1 << _HASH_BITS) - 1)
    return ((seconds & ((1 << (63 - _HASH_BITS)) - 1)) << _HASH_BITS) | low


def _new_series_ids(cur: Cursor, run_id: str, keys: list[str], used: set[int]) -> dict[str, int]:
    """Ids for series not seen before, probing past ids already taken."""
    chosen: dict[str, int] = {}
    attempt = 0
    while len(chosen) < len(keys):
        wanted = {
            key: candidate_series_id(run_id, key, attempt) for key in keys if key not in chosen
        }
        taken = {
            row[0]
            for row in cur.execute(
                "SELECT series_id FROM metric_summaries "
                f"WHERE series_id IN {among(list(wanted.values()))}",
                list(wanted.values()),
            ).fetchall()
        }
        for key, series_id in wanted.items():
            if series_id not in taken and series_id not in used:
                chosen[key] = series_id
                used.add(series_id)
        attempt += 1
    return chosen


def _aggregate(points: pa.Table) -> list[dict[str, Any]]:
    """Per series in a batch: last point (by step), min/max value, first step and count."""
    ordered = points.sort_by(
        [("series_id", "ascending"), ("step", "ascending"), ("ts", "ascending")]
    )
    grouped = ordered.group_by("series_id", use_threads=False).aggregate(
        [
            ("step", "max"),
            ("ts", "last"),
            ("value", "last"),
            ("value", "min"),
            ("value", "max"),
            ("step", "min"),
            ("value", "count"),
        ]
    )
    summaries: list[dict[str, Any]] = grouped.to_pylist()
    return summaries


def _merged_summaries(
    run_id: str,
    names: dict[int, str],
    current: dict[int, tuple[Any, ...]],
    batch: list[dict[str, Any]],
) -> list[tuple[Any, ...]]:
    rows = []
    for new in batch:
        series_id = new["series_id"]
        last = (new["step_max"], new["ts_last"], new["value_last"])
        low, high = new["value_min"], new["value_max"]
        first, count = new["step_min"], new["value_count"]
        old = current.get(series_id)
        if old is not None:
            _, _, _, old_step, old_ts, old_value, old_low, old_high, old_first, old_count = old
            if old_step > last[0]:
                last = (old_step, old_ts, old_value)
            low, high = min(low, old_low), max(high, old_high)
            first, count = min(first, old_first), count + old_count
        rows.append((series_id, run_id, names[series_id], *last, low, high, first, count))
    return rows


PutPoints = Callable[[Cursor, pa.Table, str | None], None]


def ingest_batch(
    cur: Cursor,
    put: PutPoints,
    run_id: str,
    batch_id: str | None,
    batch: pa.Table,
    skip_repeats: bool = False,
) -> int:
    """Append a batch once: a batch id seen before is acknowledged without storing again
    (``None``: a batch without an id, whose run the caller has checked). With
    ``skip_repeats``, points equal in step, time and value to a stored one are left out, as
    MLflow does (its clients log some points twice). ``put`` stores the points
    (``Database.put_points``)."""
    if batch_id is not None:
        row = cur.execute(
            "SELECT (SELECT count(*) FROM runs WHERE id = $run), (SELECT count(*) FROM "
            "ingest_batches WHERE batch_id = $batch AND run_id = $run)",
            {"run": run_id, "batch": batch_id},
        ).fetchone()
        assert row is not None
        if not row[0]:
            raise NotFound(f"No run with id {run_id!r}.")
        if row[1]:
            return 0
    encoded = pc.dictionary_encode(batch.column("key").combine_chunks())
    keys = encoded.dictionary.to_pylist()
    current = {
        summary[0]: summary
        for summary in cur.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM metric_summaries WHERE run_id = ? "
            f"AND key IN {among(keys)}",
            [run_id, *keys],
        ).fetchall()
    }
    ids = {summary[2]: series_id for series_id, summary in current.items()}
    missing = [key for key in keys if key not in ids]
    if missing:
        ids.update(_new_series_ids(cur, run_id, missing, set(ids.values())))
    points = pa.table(
        {
            "series_id": pc.take(pa.array([ids[key] for key in keys], pa.int64()), encoded.indices),
            "step": batch.column("step"),
            "ts": batch.column("ts"),
            "value": batch.column("value"),
        }
    )
    if skip_repeats and current:
        points = _without_repeats(cur, points, {sid: row[3] for sid, row in current.items()})
        if points.num_rows == 0:
            return 0
    put(cur, points, batch_id)
    summaries = _merged_summaries(
        run_id, {series_id: key for key, series_id in ids.items()}, current, _aggregate(points)
    )
    if current:
        cur.execute(
            f"DELETE FROM metric_summaries WHERE series_id IN {among(list(current))}", list(current)
        )
    # DuckDB reads a NaN inside a list parameter as NULL, so doubles travel as their repr.
    columns = [list(column) for column in zip(*summaries, strict=True)]
    for index in _DOUBLE_COLUMNS:
        columns[index] = [repr(value) for value in columns[index]]
    selected = ", ".join(
        "unnest(?)::DOUBLE" if i in _DOUBLE_COLUMNS else "unnest(?)" for i in range(len(columns))
    )
    cur.execute(f"INSERT INTO metric_summaries ({_SUMMARY_COLUMNS}) SELECT {selected}", columns)
    if batch_id is not None:
        cur.execute(
            "INSERT INTO ingest_batches (batch_id, run_id, point_count, received_at) "
            "VALUES (?, ?, ?, ?)",
            [batch_id, run_id, batch.num_rows, datetime.now(UTC).replace(tzinfo=None)],
        )
    return int(batch.num_rows)


def _without_repeats(cur: Cursor, points: pa.Table, last_steps: dict[int, int]) -> pa.Table:
    """The points not already stored with the same step, time and value. Only points at or
    before their series' last step can repeat one, so a run logging forward reads nothing."""
    last = pc.take(
        pa.array(list(last_steps.values()), pa.int64()),
        pc.index_in(points.column("series_id"), pa.array(list(last_steps), pa.int64())),
    )
    maybe = pc.fill_null(pc.less_equal(points.column("step"), last), False)
    if not pc.any(maybe).as_py():
        return points
    fresh = points.filter(pc.invert(maybe))
    earlier = points.filter(maybe)
    low, high = pc.min_max(earlier.column("step")).values()
    series = sorted(set(earlier.column("series_id").to_pylist()))
    kept: pa.Table = (
        cur.from_arrow(earlier)
        .set_alias("p")
        .join(
            cur.sql(
                "SELECT series_id, step, ts, value FROM metrics "
                "WHERE list_contains($ids, series_id) AND step BETWEEN $low AND $high",
                params={"ids": series, "low": low.as_py(), "high": high.as_py()},
            ).set_alias("m"),
            "p.series_id = m.series_id AND p.step = m.step AND p.ts = m.ts "
            "AND p.value IS NOT DISTINCT FROM m.value",
            how="anti",
        )
        .select("p.series_id, p.step, p.ts, p.value")
        .to_arrow_table()
    )
    return pa.concat_tables([fresh, kept.cast(points.schema)])


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
) -> list[MetricSeries]:
    """One pass over the points: each series' step range (from its summary, or the zoom range)
    is cut into ``buckets`` equal buckets of steps. A range no wider than ``buckets`` steps has
    one bucket per step, that is every point."""
    ranges: dict[int, tuple[str, str, int, int]] = {}
    for series_id, run_id, key, low, high in cur.execute(
        "SELECT series_id, run_id, key, min_step, last_step FROM metric_summaries "
        f"WHERE run_id IN {among(run_ids)} AND key IN {among(keys)}",
        [*run_ids, *keys],
    ).fetchall():
        low = low if step_min is None else max(low, step_min)
        high = high if step_max is None else min(high, step_max)
        if low <= high:
            ranges[series_id] = (run_id, key, low, high)
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
    wanted = {pair: index for index, pair in enumerate((r, k) for r in run_ids for k in keys)}
    result = []
    boundaries = np.flatnonzero(np.diff(found["series_id"])) + 1
    for rows in np.split(np.arange(len(found["series_id"])), boundaries):
        if not len(rows):
            continue
        run_id, key, _, _ = ranges[int(found["series_id"][rows[0]])]
        counts = found["n"][rows]
        result.append(
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
            )
        )
    return sorted(result, key=lambda series: wanted.get((series.run_id, series.key), 0))


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


def _summaries(cur: Cursor, run_ids: list[str]) -> list[MetricSummary]:
    rows = cur.execute(
        "SELECT run_id, key, last_step, last_ts, last_value, min_value, max_value, point_count "
        f"FROM metric_summaries WHERE run_id IN {among(run_ids)} ORDER BY run_id, key",
        run_ids,
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
        return await self._db.read(_series, run_ids, keys, buckets, step_min, step_max)

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
        return await self._db.read(_summaries, run_ids) if run_ids else []

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
