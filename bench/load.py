"""``python -m bench.run --only load``: a team's concurrent use of one hub, and the same load
through MLflow's API against MLflow's server, side by side.

Readers open what the dashboard opens (the runs page's query, three runs' curves), writers log
runs and leave comments, all at once for a fixed time, in four tiers: 10 readers + 1 writer,
50 + 5, 200 + 5, and 10 + 40 (a sweep's workers logging while a few people read). Every client
sends its next request when its last one is answered (a closed loop), from threads of this
process, which shares the machine with the servers as a team's browsers would not: the figures
are a floor. Printed per tier: reads and writes per second, read and write latencies
(p50/p95/p99) and errors.

On MLflow, a runs page is ``search_runs`` (50 runs), curves are three ``get_metric_history``
calls, a run is ``create_run`` + ``log_batch`` + ``set_terminated``, and a comment (MLflow has
none) is a ``set_tag``, the nearest small write.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

from bench.measure import percentile_ms
from bench.report import Result
from bench.workloads import Bench, mlflow_experiment, with_limit
from dashboard.operations import operations

# Readers + writers: the three tiers, then a sweep's workers logging runs (and people
# commenting) while a few people read, where changes arrive together.
TIERS = ((10, 1), (50, 5), (200, 5), (10, 40))
PROJECT = "bench-load"
KEY = "loss"
PAGE = 50  # runs on a runs page
WRITTEN_POINTS = 100  # points a writer's run logs


@dataclasses.dataclass
class Tally:
    """What the clients of one tier did: durations in seconds, and errors."""

    reads: list[float] = dataclasses.field(default_factory=list)
    writes: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, kind: str, took: float) -> None:
        with self.lock:
            (self.reads if kind == "read" else self.writes).append(took)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.errors += 1
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:200]


Work = Callable[[httpx.Client, int], None]  # one request (or a few), given a counter


def _drive(readers: int, writers: int, read: Work, write: Work, seconds: float) -> Tally:
    """``readers`` + ``writers`` threads, each in a closed loop for ``seconds``."""
    tally = Tally()
    counter = itertools.count()
    # Every client is made (an httpx client takes a while) before the clock starts.
    deadline = [0.0]
    ready = threading.Barrier(
        readers + writers, action=lambda: deadline.__setitem__(0, time.perf_counter() + seconds)
    )

    def client(kind: str, work: Work) -> None:
        with httpx.Client(timeout=60) as http:
            ready.wait()
            while time.perf_counter() < deadline[0]:
                started = time.perf_counter()
                try:
                    work(http, next(counter))
                except Exception as exc:  # counted, and the client goes on as a user would
                    tally.failed(exc)
                    continue
                tally.add(kind, time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=("read", read)) for _ in range(readers)]
    threads += [threading.Thread(target=client, args=("write", write)) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - deadline[0] + seconds  # to the last answer
    return tally


# -- Salon ------------------------------------------------------------------------------------


def _graphql(http: httpx.Client, bench: Bench, operation: str, variables: dict[str, Any]) -> Any:
    answer = http.post(
        f"{bench.salon_url}/graphql",
        json={"query": operations()[operation], "operationName": operation, "variables": variables},
        headers={"Authorization": f"Bearer {bench.token}"},
    )
    answer.raise_for_status()
    body = answer.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]


def _salon_runs(bench: Bench, runs: int, points: int) -> list[str]:
    rng = np.random.default_rng(11)
    made = []
    for i in range(runs):
        run = bench.init(PROJECT, "sweep", name=f"load-{i}", config={"lr": str(10 ** -(i % 4))})
        steps = np.arange(points)
        run.log_columns(steps, {KEY: np.exp(-steps / points) + 0.05 * rng.random(points)})
        run.finish()
        made.append(run.id)
    bench.salon_points += runs * points
    return made


def _salon_work(bench: Bench, run_ids: list[str]) -> tuple[Work, Work]:
    picker = random.Random(3)

    def read(http: httpx.Client, i: int) -> None:
        if i % 2:
            _graphql(http, bench, "SearchRuns", {"project": PROJECT, "first": PAGE})
        else:
            variables = {"runIds": picker.sample(run_ids, 3), "keys": [KEY], "buckets": 500}
            _graphql(http, bench, "MetricSeries", variables)

    def write(http: httpx.Client, i: int) -> None:
        if i % 2:
            body = f"Load comment {i}: the curve flattens after step 600, @nobody."
            _graphql(
                http,
                bench,
                "AddComment",
                {"kind": "RUN", "id": run_ids[i % len(run_ids)], "body": body},
            )
        else:
            run = bench.init(PROJECT, "writers", name=f"writer-{i}")
            steps = np.arange(WRITTEN_POINTS)
            run.log_columns(steps, {KEY: 1.0 / (steps + 1)})
            run.finish()

    return read, write


# -- MLflow -----------------------------------------------------------------------------------


def _mlflow_runs(bench: Bench, runs: int, points: int) -> tuple[str, list[str]]:
    from mlflow.entities import Metric

    client = bench.mlflow()
    experiment = mlflow_experiment(client, PROJECT)
    rng = np.random.default_rng(11)
    made = []
    stamp = int(time.time() * 1000)
    for i in range(runs):
        run_id = client.create_run(experiment, run_name=f"load-{i}").info.run_id
        values = np.exp(-np.arange(points) / points) + 0.05 * rng.random(points)
        for start in range(0, points, 1000):
            chunk = values[start : start + 1000]
            client.log_batch(
                run_id,
                metrics=[Metric(KEY, float(v), stamp, start + j) for j, v in enumerate(chunk)],
            )
        client.set_terminated(run_id)
        made.append(run_id)
    return experiment, made


def _mlflow_work(bench: Bench, experiment: str, run_ids: list[str]) -> tuple[Work, Work]:
    api = f"{bench.mlflow_url}/api/2.0/mlflow"
    picker = random.Random(3)

    def ok(answer: httpx.Response) -> Any:
        answer.raise_for_status()
        return answer.json()

    def read(http: httpx.Client, i: int) -> None:
        if i % 2:
            ok(
                http.post(
                    f"{api}/runs/search", json={"experiment_ids": [experiment], "max_results": PAGE}
                )
            )
        else:
            for run_id in picker.sample(run_ids, 3):
                ok(
                    http.get(
                        f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": KEY}
                    )
                )

    def write(http: httpx.Client, i: int) -> None:
        if i % 2:
            note = {
                "run_id": run_ids[i % len(run_ids)],
                "key": f"note-{i}",
                "value": "flattens at 600",
            }
            ok(http.post(f"{api}/runs/set-tag", json=note))
            return
        stamp = int(time.time() * 1000)
        made = ok(
            http.post(f"{api}/runs/create", json={"experiment_id": experiment, "start_time": stamp})
        )
        run_id = made["run"]["info"]["run_id"]
        metrics = [
            {"key": KEY, "value": 1.0 / (s + 1), "timestamp": stamp, "step": s}
            for s in range(WRITTEN_POINTS)
        ]
        ok(http.post(f"{api}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))
        ok(
            http.post(
                f"{api}/runs/update",
                json={"run_id": run_id, "status": "FINISHED", "end_time": stamp},
            )
        )

    return read, write


# -- The workload -----------------------------------------------------------------------------


def _kept_reads(bench: Bench) -> dict[str, float]:
    """The hub's count of frequent reads by how they were answered (its ``/metrics``)."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(
        f"{bench.salon_url}/metrics", headers={"Authorization": f"Bearer {bench.token}"}
    )
    answer.raise_for_status()
    return {
        sample.labels["answered"]: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == "salon_kept_reads"
    }


def _quantiles(seconds: list[float]) -> str:
    if not seconds:
        return "none answered"
    return "/".join(f"{percentile_ms(seconds, q):.0f}" for q in (0.5, 0.95, 0.99))


def _p95(seconds: list[float]) -> float | None:
    return percentile_ms(seconds, 0.95) if seconds else None


def load(bench: Bench) -> list[Result]:
    quick = bench.sizes.runs < 1_000
    runs, points, seconds = (30, 200, 3.0) if quick else (300, 1_000, 20.0)
    salon_ids = _salon_runs(bench, runs, points)
    experiment, mlflow_ids = _mlflow_runs(bench, runs, points)
    salon_read, salon_write = _salon_work(bench, salon_ids)
    mlflow_read, mlflow_write = _mlflow_work(bench, experiment, mlflow_ids)
    results = []
    for readers, writers in TIERS:
        before = _kept_reads(bench)
        with bench.probe(f"load_{readers}_{writers}") as measured:
            salon = _drive(readers, writers, salon_read, salon_write, seconds)
        kept = {k: v - before.get(k, 0) for k, v in _kept_reads(bench).items()}
        theirs = _drive(readers, writers, mlflow_read, mlflow_write, seconds)
        tier = f"load {readers}+{writers}"
        detail = (
            f"{seconds:.0f} s each; read ms p50/p95/p99 Salon {_quantiles(salon.reads)}, "
            f"MLflow {_quantiles(theirs.reads)}; write ms Salon {_quantiles(salon.writes)}, "
            f"MLflow {_quantiles(theirs.writes)}; errors Salon {salon.errors}, MLflow "
            f"{theirs.errors}"
            + (f" (Salon's first: {salon.first_error})" if salon.errors else "")
            + "; Salon's frequent reads "
            + ", ".join(f"{count:,.0f} {answered}" for answered, count in kept.items())
        )
        results.append(
            with_limit(
                Result(
                    f"{tier}: reads/s ({runs} runs x {points:,} points)",
                    "reads/s",
                    True,
                    len(salon.reads) / salon.seconds,
                    len(theirs.reads) / theirs.seconds,
                    "≥ 250" if writers == 1 or readers == 50 else "",
                    target_value=250.0 if writers == 1 or readers == 50 else None,
                    detail=detail + "; " + measured.cpu_note(),
                ),
                measured,
            )
        )
        read_target = {50: 250.0, 200: 1000.0}.get(readers)
        results.append(
            Result(
                f"{tier}: read p95",
                "ms",
                False,
                _p95(salon.reads),
                _p95(theirs.reads),
                f"≤ {read_target:.0f} ms" if read_target else "",
                target_value=read_target,
            )
        )
        results.append(
            Result(
                f"{tier}: writes/s (runs, comments)",
                "writes/s",
                True,
                len(salon.writes) / salon.seconds,
                len(theirs.writes) / theirs.seconds,
                "",
            )
        )
        results.append(
            Result(
                f"{tier}: write p95 (runs, comments)",
                "ms",
                False,
                _p95(salon.writes),
                _p95(theirs.writes),
                "≤ 250 ms" if readers == 50 else "",
                target_value=250.0 if readers == 50 else None,
            )
        )
        results.append(
            Result(
                f"{tier}: errors",
                "errors",
                False,
                float(salon.errors),
                float(theirs.errors),
                "0",
                target_value=0.0,
            )
        )
    return results
