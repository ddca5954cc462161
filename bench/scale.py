"""``--only scale``: Salon on the shared backend, one hub against three.

Starts a PostgreSQL cluster of its own (``bench/.work/postgres``, a free port of 127.0.0.1) and
hubs of the installed Salon on one database and one object-store folder, fills it with runs,
then measures:

- **reads under load**: ``READERS`` clients asking what the dashboard asks (the runs page's
  ``SearchRuns``, a run's ``MetricSeries``) while ``WRITERS`` clients log points and comment,
  for a bounded time, against one hub and then against three (each client takes the hubs in
  turn, as behind a load balancer); throughput and p50/p95 of reads and writes;
- **ingest** through the Python client into the shared backend (points go to the DuckLake in
  the object store), against the embedded hub that ``bench.run`` started;
- **history** of a 100k-point metric read from the shared backend.

Everything runs on this machine: the hubs, PostgreSQL and the load generator share its cores,
so three hubs cannot use more CPU than there is; the detail column says how busy it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pyarrow as pa

import hub
from bench.measure import median_ms, percentile_ms
from bench.postgres import PostgresCluster, new_database
from bench.report import Result
from bench.servers import REPO_DIR, Server, start_salon
from bench.workloads import Bench

READERS = 50
WRITERS = 5
HUBS = 3
KEYS = ("loss", "accuracy", "lr")
QUERIES = REPO_DIR / "dashboard" / "queries"
COMMENT = """mutation($id: ID!, $body: String!) { addComment(kind: RUN, id: $id, body: $body) {
  __typename } }"""


@dataclass
class Latencies:
    """Seconds each request took, by kind, and the ones that failed."""

    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SharedSalon:
    """A PostgreSQL cluster and hubs on one database of it, stopped on the way out."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        folder = workdir / "postgres"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.cluster = PostgresCluster(folder)
        self.url = new_database(self.cluster.address)
        self.token = "bench-" + secrets.token_urlsafe(24)
        self.hubs: list[Server] = []

    def start_hubs(self, count: int) -> list[str]:
        settings = {
            "SALON_DATABASE_URL": self.url,
            "SALON_OBJECT_STORE": str(self.workdir / "shared-objects"),
        }
        while len(self.hubs) < count:
            name = f"hub-{len(self.hubs)}"
            server, _ = start_salon(self.workdir / name, token=self.token, **settings)
            server.wait_healthy()
            self.hubs.append(server)
        return [server.url for server in self.hubs[:count]]

    def stop(self) -> None:
        for server in self.hubs:
            server.stop()
        self.cluster.stop()


@contextlib.contextmanager
def shared_salon(workdir: Path) -> Iterator[SharedSalon]:
    started = SharedSalon(workdir)
    try:
        yield started
    finally:
        started.stop()


def _fill(url: str, token: str, runs: int, steps: int) -> list[str]:
    """``runs`` finished runs of ``steps`` steps of each of KEYS; their ids."""
    rng = np.random.default_rng(11)
    made = []
    for number in range(runs):
        run = hub.init(
            "bench-scale",
            "sweep",
            name=f"r{number}",
            url=url,
            token=token,
            capture_environment=False,
            config={"lr": float(rng.choice([1e-3, 3e-4]))},
        )
        decay = np.exp(-np.arange(steps) / (steps / 4))
        run.log_columns(
            np.arange(steps),
            {"loss": decay + rng.random(steps) * 0.05, "accuracy": 1 - decay, "lr": decay / 100},
        )
        run.finish()
        made.append(run.id)
    return made


def _points(run_id: str, batch: int, start: int) -> tuple[bytes, dict[str, str]]:
    """An Arrow stream of ``batch`` points of one run, and its batch id."""
    table = pa.table(
        {
            "key": pa.array(["throughput"] * batch, pa.string()),
            "step": pa.array(range(start, start + batch), pa.int64()),
            "ts": pa.array([int(time.time() * 1000)] * batch, pa.int64()),
            "value": pa.array(np.random.default_rng(start).random(batch), pa.float64()),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), {"batch_id": f"{run_id}:{start}"}


async def _load(
    urls: list[str], token: str, run_ids: list[str], seconds: float
) -> tuple[Latencies, float]:
    """READERS + WRITERS clients for ``seconds``; what they measured, and the time taken."""
    search = (QUERIES / "runs.graphql").read_text()
    series = (QUERIES / "metrics.graphql").read_text()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=READERS + WRITERS, max_keepalive_connections=100)
    measured = Latencies()
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as http:

        async def timed(kind: list[float], request: Any) -> None:
            began = time.perf_counter()
            try:
                answer = await request
                if answer.status_code >= 400 or b'"errors":' in answer.content:
                    measured.errors.append(f"{answer.status_code} {answer.text[:120]}")
                    return
            except httpx.HTTPError as exc:
                measured.errors.append(repr(exc))
                return
            kind.append(time.perf_counter() - began)

        async def reader(number: int) -> None:
            hubs = itertools.cycle(urls[number % len(urls) :] + urls[: number % len(urls)])
            for turn in itertools.count(number):
                if time.monotonic() > deadline:
                    return
                if turn % 2:
                    body = {
                        "query": series,
                        "operationName": "MetricSeries",
                        "variables": {
                            "runIds": [run_ids[turn % len(run_ids)]],
                            "keys": list(KEYS),
                            "buckets": 500,
                        },
                    }
                else:
                    body = {
                        "query": search,
                        "operationName": "SearchRuns",
                        "variables": {"project": "bench-scale", "first": 50},
                    }
                await timed(measured.reads, http.post(f"{next(hubs)}/graphql", json=body))

        async def writer(number: int) -> None:
            hubs = itertools.cycle(urls)
            run_id = run_ids[number]
            for turn in itertools.count():
                if time.monotonic() > deadline:
                    return
                url = next(hubs)
                if turn % 2:
                    body = {"query": COMMENT, "variables": {"id": run_id, "body": f"w{turn}"}}
                    await timed(measured.writes, http.post(f"{url}/graphql", json=body))
                else:
                    content, params = _points(run_id, 1000, 1_000_000 + turn * 1000)
                    path = f"{url}/api/v1/runs/{run_id}/metrics"
                    request = http.post(path, content=content, params=params)
                    await timed(measured.writes, request)

        began = time.perf_counter()
        await asyncio.gather(
            *(reader(n) for n in range(READERS)), *(writer(n) for n in range(WRITERS))
        )
        return measured, time.perf_counter() - began


def _busy(pids: list[int], seconds: float, run: Any) -> tuple[Any, str]:
    """``run()``'s result and how much CPU the hubs took meanwhile, in cores."""
    processes = [psutil.Process(pid) for pid in pids]
    before = [sum(p.cpu_times()[:2]) for p in processes]
    result = run()
    used = sum(sum(p.cpu_times()[:2]) - b for p, b in zip(processes, before, strict=True))
    return result, f"hubs used {used / seconds:.1f} of {psutil.cpu_count()} cores"


def scale(bench: Bench) -> list[Result]:
    """One hub against three on the shared backend; ingest and history there."""
    quick = bench.sizes.runs < 100
    seconds = 5.0 if quick else 15.0
    steps = 200 if quick else 1000
    results: list[Result] = []
    with shared_salon(bench.workdir) as salon:
        urls = salon.start_hubs(HUBS)
        run_ids = _fill(urls[0], salon.token, 20 if quick else 100, steps)
        rates: dict[int, float] = {}
        for count in (1, HUBS):
            pids = [server.pid for server in salon.hubs[:count]]
            (measured, took), cpu = _busy(
                pids,
                seconds,
                lambda c=count: asyncio.run(_load(urls[:c], salon.token, run_ids, seconds)),
            )
            rates[count] = len(measured.reads) / took
            ratio = f"; {rates[count] / rates[1]:.2f}x one hub" if count > 1 else ""
            results.append(
                Result(
                    f"scale: reads, {READERS} readers + {WRITERS} writers, {count} hub(s)",
                    "reads/s",
                    True,
                    rates[count],
                    target="3 hubs ≥ 2.5x one" if count > 1 else "",
                    target_value=2.5 * rates[1] if count > 1 else None,
                    detail=(
                        f"reads p50 {percentile_ms(measured.reads, 0.5):.0f} ms, p95 "
                        f"{percentile_ms(measured.reads, 0.95):.0f} ms; writes "
                        f"{len(measured.writes) / took:.0f}/s, p95 "
                        f"{percentile_ms(measured.writes, 0.95):.0f} ms; "
                        f"{len(measured.errors)} errors; {cpu}{ratio}; {seconds:.0f} s, "
                        "load generator on the same cores"
                    ),
                )
            )
        results.append(_ingest(bench, urls[0], salon.token, quick))
        results.append(_history(bench, urls[0], salon.token))
    return results


def _ingest_rate(url: str, token: str, points: int) -> float:
    steps = points // len(KEYS)
    rng = np.random.default_rng(5)
    began = time.perf_counter()
    run = hub.init("bench-scale", "ingest", url=url, token=token, capture_environment=False)
    for start in range(0, steps, 100_000):
        stop = min(steps, start + 100_000)
        run.log_columns(np.arange(start, stop), {k: rng.random(stop - start) for k in KEYS})
    run.finish()
    return steps * len(KEYS) / (time.perf_counter() - began)


def _ingest(bench: Bench, url: str, token: str, quick: bool) -> Result:
    points = 300_000 if quick else 3_000_000
    shared = _ingest_rate(url, token, points)
    embedded = _ingest_rate(bench.salon_url, bench.token, points)
    bench.salon_points += points
    return Result(
        f"scale: ingest, shared backend ({points / 1e6:g}M pts)",
        "pts/s",
        True,
        shared,
        target="≥ 500k pts/s",
        target_value=500_000,
        detail=f"embedded DuckDB on the same run: {embedded:,.0f} pts/s "
        f"({shared / embedded:.2f}x); run.log_columns, init to finish()",
    )


def _history(bench: Bench, url: str, token: str) -> Result:
    steps = 100_000
    rng = np.random.default_rng(9)
    run = hub.init("bench-scale", "history", url=url, token=token, capture_environment=False)
    run.log_columns(np.arange(steps), {"loss": rng.random(steps)})
    run.finish()
    client = hub.Client(url, token, timeout=300)
    lengths: list[int] = []
    took = median_ms(
        lambda: lengths.append(client.metrics([run.id], ["loss"]).height), bench.sizes.repeats
    )
    client.close()
    return Result(
        "scale: history of one metric, shared backend (100k pts)",
        "ms",
        False,
        took,
        target="≤ 100 ms",
        target_value=100,
        detail=f"Client.metrics (Arrow); median of {bench.sizes.repeats}; "
        f"{'every point read' if lengths[-1] == steps else f'READ {lengths[-1]} POINTS'}",
    )


__all__ = ["scale"]
