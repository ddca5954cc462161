"""The datasets workload's files: ten million (or, with --quick, 200,000) rows of shop events
in 20 columns, as pyarrow writes them (row groups of a million rows), and a second version of
them with 1 % of the rows changed, removed and added; generated chunk by chunk, the same for
the same seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.workloads import QUICK, Sizes

CHUNK_ROWS = 1_000_000  # rows generated and written at a time
BYTES_PER_ROW = 45  # a generous estimate of the generated Parquet, for the disk check
COUNTRIES = (
    "US",
    "DE",
    "FR",
    "GB",
    "JP",
    "BR",
    "IN",
    "CN",
    "CA",
    "AU",
    "ES",
    "IT",
    "NL",
    "SE",
    "PL",
    "MX",
    "KR",
    "ZA",
    "NG",
    "AR",
)
CHANNELS = ("web", "ios", "android", "email", "partner")
STATUSES = ("ok", "refunded", "failed")
SEGMENTS = ("new", "returning", "vip", "churned")


def dataset_rows(sizes: Sizes) -> int:
    """Rows per generated file: 10M in full mode, 200k with --quick (a multiple of 100)."""
    return 200_000 if sizes.ingest_points <= QUICK.ingest_points else 10_000_000


def _chunk(start: int, n: int, seed: int) -> pa.Table:
    """``n`` rows with ids from ``start``: 6 integer, 9 float, 4 string, 1 timestamp column.

    Deterministic for a seed, so version 2 can regenerate version 1's rows chunk by chunk.
    """
    rng = np.random.default_rng(seed)

    def pick(values: tuple[str, ...]) -> pa.Array:
        return pc.take(pa.array(values), pa.array(rng.integers(0, len(values), n)))

    year_ms = 365 * 24 * 3600 * 1000
    return pa.table(
        {
            "id": pa.array(np.arange(start, start + n, dtype=np.int64)),
            "user_id": pa.array(rng.integers(0, 1_000_000, n, dtype=np.int64)),
            "store_id": pa.array(rng.integers(0, 500, n, dtype=np.int32)),
            "age": pa.array(rng.integers(18, 90, n, dtype=np.int32)),
            "quantity": pa.array(rng.integers(1, 20, n, dtype=np.int32)),
            "clicks": pa.array(rng.poisson(3.0, n).astype(np.int64)),
            "x0": pa.array(rng.standard_normal(n)),
            "x1": pa.array(rng.standard_normal(n)),
            "x2": pa.array(rng.random(n)),
            "y0": pa.array(rng.standard_normal(n).astype(np.float32)),
            "y1": pa.array(rng.random(n).astype(np.float32)),
            "price": pa.array(np.round(rng.uniform(1, 500, n), 2)),
            "discount": pa.array(np.round(rng.uniform(0, 0.5, n), 2)),
            "rating": pa.array(rng.integers(2, 11, n) / 2.0),
            "temperature": pa.array(np.round(rng.normal(20, 8, n), 1)),
            "country": pick(COUNTRIES),
            "channel": pick(CHANNELS),
            "status": pick(STATUSES),
            "segment": pick(SEGMENTS),
            "ts": pa.array(
                rng.integers(1_700_000_000_000, 1_700_000_000_000 + year_ms, n),
                pa.timestamp("ms"),
            ),
        }
    )


def _second_version(table: pa.Table, total: int, start: int, seed: int) -> pa.Table:
    """Version 2 of a chunk: ids ending in 01 get a new x0 (1% changed), ids ending in 02 are
    gone (1% removed), and 1% new rows with ids from ``total`` on are appended (1% added)."""
    last_two = pc.remainder(table["id"], 100)
    changed = pc.equal(last_two, 1)
    x0 = pc.if_else(changed, pc.add(table["x0"], 1.0), table["x0"])
    table = table.set_column(table.schema.get_field_index("x0"), "x0", x0)
    kept = table.filter(pc.not_equal(last_two, 2))
    added = _chunk(total + start // 100, table.num_rows // 100, seed)
    return pa.concat_tables([kept, added])


def write_events(path: Path, rows: int, second: bool) -> int:
    """Generate the file chunk by chunk (at most two chunks in memory); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    try:
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, rows - start)
            table = _chunk(start, n, seed=index)
            if second:
                table = _second_version(table, rows, start, seed=1_000_000 + index)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=CHUNK_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return path.stat().st_size


def check_disk(folder: Path, rows: int) -> None:
    """Two source files, the hub's scratch copy and converted objects, MLflow's copy."""
    folder.mkdir(parents=True, exist_ok=True)
    needed = 8 * rows * BYTES_PER_ROW
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise RuntimeError(
            f"{free / 2**30:.1f} GB free under {folder}; the datasets workload needs about "
            f"{needed / 2**30:.1f} GB for {rows:,} rows"
        )
