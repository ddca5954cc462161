"""``python -m bench.lifecycle [--rows N]``: purging a run of 1 million points, and erasing one
data subject from a dataset of N rows (default 10 million) with 5 versions, on a serving hub;
with the p95 of a dashboard-like read (a project's runs with their metrics) while each happens,
against the same reads on the quiet hub.

No tool teams use erases a subject across dataset versions, and MLflow's deletes leave the
points in its database until ``mlflow gc``; so Salon is measured against itself: reads with and
without the work going on.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import hub
from bench.measure import percentile_ms, reading
from bench.servers import start_salon
from hub.client.client import Client

WORK = Path(__file__).resolve().parent / ".work" / "lifecycle"
POINTS = 1_000_000
KEYS = ("loss", "acc", "lr", "grad_norm", "throughput")
VERSIONS = 5
SUBJECT = "C-1042"


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def a_version(rows: int, number: int, folder: Path) -> Path:
    """Claims as Parquet: ``rows`` rows, a few of them the subject's; each version adds 1%."""
    rng = np.random.default_rng(number)
    total = rows + rows // 100 * number
    customers = np.char.add("C-", (rng.integers(0, 5_000_000, total)).astype(str))
    customers[:: max(1, total // 40)] = SUBJECT  # about 40 rows per version
    table = pa.table(
        {
            "customer_id": customers,
            "amount": rng.random(total) * 1000,
            "region": rng.choice(np.array(["north", "south", "east", "west"]), total),
            "day": rng.integers(0, 3650, total),
        }
    )
    path = folder / f"claims-v{number}.parquet"
    pq.write_table(table, path, compression="zstd")
    return path


def graphql(url: str, token: str, query: str, variables: dict[str, object]) -> dict[str, Any]:
    answer = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=None,
    )
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()["data"]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of version 1")
    rows = parser.parse_args().rows
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    server, token = start_salon(WORK, SALON_MAX_DATASET_BYTES=str(4 * 1024**3))
    with server:
        server.wait_healthy()
        rng = np.random.default_rng(0)
        run = hub.init(
            project="bench",
            experiment="purge",
            url=server.url,
            token=token,
            capture_environment=False,
        )
        steps = POINTS // len(KEYS)
        for start in range(0, steps, 100_000):
            stop = min(steps, start + 100_000)
            run.log_columns(np.arange(start, stop), {k: rng.random(stop - start) for k in KEYS})
        run.finish()
        for number in range(10):  # the runs the reads list
            other = hub.init(
                project="bench",
                experiment="others",
                url=server.url,
                token=token,
                capture_environment=False,
            )
            other.log({"loss": 1.0 / (number + 1)}, step=0)
            other.finish()
        client = Client(server.url, token)
        for number in range(1, VERSIONS + 1):
            source = a_version(rows, number, WORK)
            client.upload_dataset("bench", "claims", source)
            source.unlink()

        with reading(server.url, token) as quiet:
            time.sleep(10)

        def purge() -> None:
            entry = client.trash.move("run", run.id)
            client.trash.purge(entry["id"])

        with reading(server.url, token) as during_purge:
            purge_seconds = timed(purge)

        erased: dict[str, object] = {}

        def erase() -> None:
            """Ask, then wait until the hub has carried the request out."""
            asked = graphql(
                server.url,
                token,
                'mutation($f: String!) { eraseDatasetRows(project: "bench", dataset: '
                '"claims", filter: $f) { __typename ... on DatasetErasure { id } '
                "... on Error { message } } }",
                {"f": f"customer_id = '{SUBJECT}'"},
            )["eraseDatasetRows"]
            while True:
                found = graphql(
                    server.url,
                    token,
                    '{ dataset(project: "bench", name: "claims") { ... on Dataset { '
                    "erasures { id state problem total } } } }",
                    {},
                )["dataset"]["erasures"]
                mine = next(e for e in found if e["id"] == asked["id"])
                if mine["state"] in ("DONE", "FAILED"):
                    erased.update(mine)
                    return
                time.sleep(0.5)

        with reading(server.url, token) as during_erasure:
            erase_seconds = timed(erase)

    calm = percentile_ms(quiet, 0.95)
    print(f"reads on a quiet hub: p95 {calm:.1f} ms over {len(quiet)} reads")
    loaded = percentile_ms(during_purge, 0.95)
    print(
        f"purging a run of {POINTS:,} points: {purge_seconds:.2f} s; reads meanwhile p95 "
        f"{loaded:.1f} ms ({loaded / calm:.2f}x) over {len(during_purge)} reads"
    )
    loaded = percentile_ms(during_erasure, 0.95)
    print(
        f"erasing one subject from {VERSIONS} versions of {rows:,}+ rows: {erase_seconds:.1f} s "
        f"({erased}); reads meanwhile p95 {loaded:.1f} ms ({loaded / calm:.2f}x) over "
        f"{len(during_erasure)} reads"
    )


if __name__ == "__main__":
    main()
