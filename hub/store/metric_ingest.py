"""Storing metric points: any number of runs' batches in one pass, each batch stored once.

Points are stored against a 63-bit series id (one metric of one run), which keeps the points
table to four fixed-width columns. The id's high bits are the run's start time (from its
UUIDv7), its low bits a hash of run and key; the rare clash is resolved by probing, under the
store's single writer. Each series' summary (latest point, range, count) is kept up to date here,
so that run search and sorting never scan the points.

However many runs and batches a call carries, it costs the same handful of statements: the
batches already stored, the summaries of the series touched, one append of the points and one
of the summaries. A client sending the creation, points and finish of hundreds of runs in one
request is as cheap per point as one run streaming its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.domain.tracking import PointChunk
from hub.errors import NotFound
from hub.store._rows import among
from hub.store.database import Cursor

# Stores points (series_id, step, ts, value, and a ``batch`` column when the batches are many)
# as part of the caller's write: ``Database.put_points``.
PutPoints = Callable[[Cursor, pa.Table, str | None], None]

SUMMARY_COLUMNS = (
    "series_id, run_id, key, last_step, last_ts, last_value, min_value, max_value, min_step, "
    "point_count"
)
_DOUBLE_COLUMNS = (5, 6, 7)  # last_value, min_value, max_value
_HASH_BITS = 22


def candidate_series_id(run_id: str, key: str, attempt: int = 0) -> int:
    """Run start (seconds, from the UUIDv7) in the high bits, a hash of run and key below."""
    try:
        seconds = int(run_id.replace("-", "")[:12], 16) // 1000
    except ValueError:
        seconds = 0
    digest = hashlib.blake2b(f"{run_id}\x00{key}\x00{attempt}".encode(), digest_size=8).digest()
    low = int.from_bytes(digest, "big") & ((1 << _HASH_BITS) - 1)
    return ((seconds & ((1 << (63 - _HASH_BITS)) - 1)) << _HASH_BITS) | low


def ingest_batch(
    cur: Cursor,
    put: PutPoints,
    run_id: str,
    batch_id: str | None,
    batch: pa.Table,
    skip_repeats: bool = False,
) -> int:
    """One run's batch: see :func:`ingest_chunks`."""
    chunk = PointChunk(run_id, batch_id, batch)
    return sum(ingest_chunks(cur, put, [chunk], skip_repeats=skip_repeats).values())


def ingest_chunks(
    cur: Cursor,
    put: PutPoints,
    chunks: Sequence[PointChunk],
    skip_repeats: bool = False,
    new_runs: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Append each chunk once; how many points were stored, by run. A batch id seen before (in the
    store or earlier in ``chunks``) is acknowledged without storing again. With
    ``skip_repeats``, points equal in step, time and value to a stored one are left out, as
    MLflow does (its clients log some points twice). ``put`` stores the points.

    ``new_runs`` were stored earlier in the same transaction: they exist and have no batches,
    series or summaries yet, so nothing is asked about them (a run's first points, sent with
    its start, cost three statements fewer)."""
    _require_runs(cur, sorted({chunk.run_id for chunk in chunks} - new_runs))
    fresh = _not_stored_yet(cur, chunks, new_runs)
    if not fresh:
        return {}
    encoded = [pc.dictionary_encode(chunk.points.column("key").combine_chunks()) for chunk in fresh]
    wanted = sorted(
        {
            (chunk.run_id, key)
            for chunk, keys in zip(fresh, encoded, strict=True)
            for key in keys.dictionary.to_pylist()
        }
    )
    current = _summaries_of(cur, [pair for pair in wanted if pair[0] not in new_runs])
    ids = {(row[1], row[2]): series_id for series_id, row in current.items()}
    missing = [pair for pair in wanted if pair not in ids]
    if missing:
        ids.update(_new_series_ids(cur, missing, set(ids.values())))
    tables = []
    for chunk, keys in zip(fresh, encoded, strict=True):
        chunk_ids = [ids[(chunk.run_id, key)] for key in keys.dictionary.to_pylist()]
        columns = {
            "series_id": pc.take(pa.array(chunk_ids, pa.int64()), keys.indices),
            "step": chunk.points.column("step"),
            "ts": chunk.points.column("ts"),
            "value": chunk.points.column("value"),
        }
        if len(fresh) > 1:  # each point says its batch, for a shared store's retries
            columns["batch"] = pa.repeat(pa.scalar(chunk.batch_id, pa.string()), len(keys))
        tables.append(pa.table(columns))
    points = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    if skip_repeats and current:
        points = _without_repeats(cur, points, {sid: row[3] for sid, row in current.items()})
        if points.num_rows == 0:
            return {}
    put(cur, points, fresh[0].batch_id if len(fresh) == 1 else None)
    names = {series_id: pair for pair, series_id in ids.items()}
    _replace_summaries(cur, _merged_summaries(names, current, _aggregate(points)), list(current))
    _record_batches(cur, [chunk for chunk in fresh if chunk.batch_id is not None])
    stored: dict[str, int] = {}
    for chunk in fresh:
        stored[chunk.run_id] = stored.get(chunk.run_id, 0) + chunk.points.num_rows
    return stored


def _require_runs(cur: Cursor, run_ids: list[str]) -> None:
    if not run_ids:
        return
    found = {
        row[0]
        for row in cur.execute(
            f"SELECT id FROM runs WHERE id IN {among(run_ids)}", run_ids
        ).fetchall()
    }
    for run_id in run_ids:
        if run_id not in found:
            raise NotFound(f"No run with id {run_id!r}.")


def _not_stored_yet(
    cur: Cursor, chunks: Sequence[PointChunk], new_runs: frozenset[str]
) -> list[PointChunk]:
    """The chunks with points whose batch is not stored yet, each batch once (a batch of a run
    in ``new_runs`` cannot be stored yet)."""
    named = sorted(
        {
            chunk.batch_id
            for chunk in chunks
            if chunk.batch_id is not None and chunk.run_id not in new_runs
        }
    )
    seen: set[tuple[str, str]] = set()
    if named:
        seen = {
            (row[0], row[1])
            for row in cur.execute(
                f"SELECT run_id, batch_id FROM ingest_batches WHERE batch_id IN {among(named)}",
                named,
            ).fetchall()
        }
    fresh = []
    for chunk in chunks:
        if chunk.batch_id is not None:
            if (chunk.run_id, chunk.batch_id) in seen:
                continue
            seen.add((chunk.run_id, chunk.batch_id))
        if chunk.points.num_rows:
            fresh.append(chunk)
    return fresh


def _summaries_of(cur: Cursor, pairs: list[tuple[str, str]]) -> dict[int, tuple[Any, ...]]:
    """series id → summary row, for the (run, key) pairs that have one."""
    if not pairs:
        return {}
    run_ids = sorted({run_id for run_id, _ in pairs})
    keys = sorted({key for _, key in pairs})
    wanted = set(pairs)
    return {
        row[0]: row
        for row in cur.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM metric_summaries WHERE run_id IN {among(run_ids)} "
            f"AND key IN {among(keys)}",
            [*run_ids, *keys],
        ).fetchall()
        if (row[1], row[2]) in wanted
    }


def _new_series_ids(
    cur: Cursor, pairs: list[tuple[str, str]], used: set[int]
) -> dict[tuple[str, str], int]:
    """Ids for series not seen before, probing past ids already taken."""
    chosen: dict[tuple[str, str], int] = {}
    attempt = 0
    while len(chosen) < len(pairs):
        wanted = {pair: candidate_series_id(*pair, attempt) for pair in pairs if pair not in chosen}
        candidates = list(wanted.values())
        taken = {
            row[0]
            for row in cur.execute(
                f"SELECT series_id FROM metric_summaries WHERE series_id IN {among(candidates)}",
                candidates,
            ).fetchall()
        }
        for pair, series_id in wanted.items():
            if series_id not in taken and series_id not in used:
                chosen[pair] = series_id
                used.add(series_id)
        attempt += 1
    return chosen


def _aggregate(points: pa.Table) -> list[dict[str, Any]]:
    """Per series: last point (by step), min/max value, first step and count."""
    ordered = points.select(["series_id", "step", "ts", "value"]).sort_by(
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
    names: dict[int, tuple[str, str]],
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
        rows.append((series_id, *names[series_id], *last, low, high, first, count))
    return rows


def _replace_summaries(cur: Cursor, summaries: list[tuple[Any, ...]], stale: list[int]) -> None:
    if stale:
        cur.execute(f"DELETE FROM metric_summaries WHERE series_id IN {among(stale)}", stale)
    # DuckDB reads a NaN inside a list parameter as NULL, so doubles travel as their repr.
    columns = [list(column) for column in zip(*summaries, strict=True)]
    for index in _DOUBLE_COLUMNS:
        columns[index] = [repr(value) for value in columns[index]]
    selected = ", ".join(
        "unnest(?)::DOUBLE" if i in _DOUBLE_COLUMNS else "unnest(?)" for i in range(len(columns))
    )
    cur.execute(f"INSERT INTO metric_summaries ({SUMMARY_COLUMNS}) SELECT {selected}", columns)


def _record_batches(cur: Cursor, chunks: list[PointChunk]) -> None:
    if not chunks:
        return
    received = datetime.now(UTC).replace(tzinfo=None)
    cur.execute(
        "INSERT INTO ingest_batches (batch_id, run_id, point_count, received_at) "
        "SELECT unnest(?), unnest(?), unnest(?), ?",
        [
            [chunk.batch_id for chunk in chunks],
            [chunk.run_id for chunk in chunks],
            [chunk.points.num_rows for chunk in chunks],
            received,
        ],
    )


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
        .select("p.*")
        .to_arrow_table()
    )
    return pa.concat_tables([fresh, kept.cast(points.schema)])
