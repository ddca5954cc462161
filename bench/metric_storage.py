"""``python -m bench.metric_storage``: where metric points should live on the shared backend.

The same points, written and read the way the hub does (an Arrow batch per ingest request;
one series' full history; one series cut into 2,000 buckets for a chart), in three places:

- ``postgres``: PostgreSQL's ``metrics`` table through DuckDB's postgres extension (what the
  shared backend does today);
- ``postgres+index``: the same with an index on ``(series_id, step)``;
- ``ducklake``: a DuckLake table, its catalog in the same PostgreSQL and its Parquet files in
  a folder (an object store's stand-in).

A PostgreSQL cluster of its own is started under ``bench/.work/metric-storage`` and stopped at
the end. Prints one table; nothing is asserted. ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from bench.measure import median_ms
from bench.postgres import PostgresCluster, new_database
from bench.servers import BENCH_DIR
from hub.store.backends import ducklake_extension, postgres_extension

WORK = BENCH_DIR / ".work" / "metric-storage"
BUCKETS = 2000
REPEATS = 7


def batches(series: int, points: int, per_request: int) -> list[pa.Table]:
    """``series`` series of ``points`` steps each, as ingest requests of ``per_request``
    points of one series (what a training script's client sends)."""
    rng = np.random.default_rng(1)
    made = []
    for series_id in range(1, series + 1):
        for start in range(0, points, per_request):
            steps = np.arange(start, min(points, start + per_request), dtype=np.int64)
            made.append(
                pa.table(
                    {
                        "series_id": np.full(len(steps), series_id, dtype=np.int64),
                        "step": steps,
                        "ts": 1_700_000_000_000 + steps,
                        "value": rng.random(len(steps)),
                    }
                )
            )
    return made


def connect(url: str, place: str, data: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:", config={"threads": 2})
    connection.execute(f"LOAD '{postgres_extension()}'")
    connection.execute("SET pg_pool_max_connections = 12")
    literal = url.replace("'", "''")
    if place == "ducklake":
        connection.execute(f"LOAD '{ducklake_extension()}'")
        connection.execute(f"ATTACH 'ducklake:postgres:{literal}' AS lake (DATA_PATH '{data}/')")
        connection.execute("USE lake")
    else:
        connection.execute(f"ATTACH '{literal}' AS pg (TYPE postgres)")
        connection.execute("USE pg")
    connection.execute(
        "CREATE TABLE metrics (series_id BIGINT, step BIGINT, ts BIGINT, value DOUBLE)"
    )
    if place == "postgres+index":
        connection.execute(
            "CALL postgres_execute('pg', 'CREATE INDEX metrics_by_series "
            "ON metrics (series_id, step)')"
        )
    return connection


SERIES_SQL = f"""
SELECT ((step - 0) * {BUCKETS} // ($n))::INTEGER AS bucket, max(step), max(ts),
       arg_max(value, step), min(value), max(value), count(*)
FROM metrics WHERE series_id = $s AND step BETWEEN 0 AND $n - 1 GROUP BY bucket
ORDER BY bucket"""


def measure(
    place: str, url: str, data: Path, requests: list[pa.Table], big: int
) -> dict[str, float]:
    connection = connect(url, place, data)
    points = sum(table.num_rows for table in requests)
    began = time.perf_counter()
    for batch in requests:  # one transaction per request, as the hub commits an ingest
        connection.execute("BEGIN")
        connection.register("batch", batch)
        connection.execute("INSERT INTO metrics SELECT * FROM batch")
        connection.unregister("batch")
        connection.execute("COMMIT")
    ingest = points / (time.perf_counter() - began)
    history_series = 2  # an ordinary series
    history = median_ms(
        lambda: connection.execute(
            "SELECT step, ts, value FROM metrics WHERE series_id = ? ORDER BY step",
            [history_series],
        ).to_arrow_table(),
        REPEATS,
    )
    history_rows = connection.execute(
        "SELECT count(*) FROM metrics WHERE series_id = ?", [history_series]
    ).fetchone()
    series = median_ms(
        lambda: connection.execute(SERIES_SQL, {"s": 1, "n": big}).fetchnumpy(), REPEATS
    )
    connection.close()
    return {
        "ingest": ingest,
        "history": history,
        "history_rows": float(history_rows[0] if history_rows else 0),
        "series": series,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, small sizes")
    args = parser.parse_args(argv)
    # Series 1 is long (the chart); the others are ordinary runs' metrics.
    big, others, each = (200_000, 20, 20_000) if args.quick else (1_000_000, 90, 100_000)
    requests = batches(1, big, 100_000) + [
        table.set_column(0, "series_id", pa.array(np.full(table.num_rows, n + 2, np.int64)))
        for n, table in enumerate(batches(others, each, 100_000))
    ]
    total = sum(table.num_rows for table in requests)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    (WORK / "postgres").mkdir()
    cluster = PostgresCluster(WORK / "postgres")
    rows = []
    try:
        for place in ("postgres", "postgres+index", "ducklake"):
            data = WORK / f"{place}-files"
            data.mkdir()
            found = measure(place, new_database(cluster.address), data, requests, big)
            rows.append((place, found))
    finally:
        cluster.stop()
    print(
        f"{total:,} points in {len(requests)} ingest requests; history of a "
        f"{each:,}-point series; {BUCKETS} buckets of the {big:,}-point series\n"
    )
    print(f"{'where':<16} {'ingest pts/s':>14} {'history ms':>11} {'series ms':>10}  read")
    for place, found in rows:
        print(
            f"{place:<16} {found['ingest']:>14,.0f} {found['history']:>11.1f} "
            f"{found['series']:>10.1f}  {found['history_rows']:,.0f} pts"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
