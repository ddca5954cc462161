"""The search workload: a filtered, sorted top-100 run search over both stores."""

from __future__ import annotations

import functools
import itertools
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

import hub
from bench.measure import median_ms
from bench.report import Result
from bench.workloads import (
    CREATE_RUN,
    LEARNING_RATES,
    SEARCH_FILTER,
    Bench,
    mlflow_experiment,
    with_limit,
)
from hub.client.client import RUNS_QUERY

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@dataclass(frozen=True)
class _SearchRun:
    name: str
    params: dict[str, str]
    val_acc: float
    loss: float


def _search_data(n: int) -> list[_SearchRun]:
    rng = np.random.default_rng(n)
    lrs = rng.integers(0, len(LEARNING_RATES), n)
    accs = np.round(rng.uniform(0.5, 1.0, n), 6)
    return [
        _SearchRun(
            f"run-{i}",
            {
                "lr": LEARNING_RATES[lrs[i]],
                "batch_size": str(32 << (i % 4)),
                "optimizer": ("adam", "sgd")[i % 2],
                "seed": str(i),
            },
            float(accs[i]),
            float(1.0 - accs[i]),
        )
        for i in range(n)
    ]


def _salon_filler(client: hub.Client, project: str) -> Callable[[_SearchRun], None]:
    """Create one search run on the hub: createRun via GraphQL, then its metrics as Arrow."""

    def one(row: _SearchRun) -> None:
        params = [{"key": k, "value": v} for k, v in row.params.items()]
        new = {"project": project, "experiment": "search", "name": row.name, "params": params}
        result = client.query(CREATE_RUN, {"input": new})["createRun"]
        if result["__typename"] != "Run":
            raise RuntimeError(result["message"])
        batch = pa.table(
            {
                "key": ["val_acc", "loss"],
                "step": pa.array([0, 0], pa.int64()),
                "ts": pa.array([int(time.time() * 1000)] * 2, pa.int64()),
                "value": [row.val_acc, row.loss],
            }
        )
        client.post_arrow(f"/api/v1/runs/{result['id']}/metrics", batch, {"batch_id": "0"})

    return one


def _mlflow_filler(client: MlflowClient, experiment: str) -> Callable[[_SearchRun], None]:
    """Create one search run on MLflow: create_run, then params and metrics in one batch."""
    from mlflow.entities import Metric, Param

    def one(row: _SearchRun) -> None:
        run = client.create_run(experiment, run_name=row.name)
        stamp = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("val_acc", row.val_acc, stamp, 0), Metric("loss", row.loss, stamp, 0)],
            params=[Param(k, v) for k, v in row.params.items()],
        )

    return one


def _run_all(tasks: list[Callable[[], None]], workers: int) -> None:
    """Run tasks on a thread pool; on an error or Ctrl+C, drop those not yet started."""
    pool = ThreadPoolExecutor(workers)
    try:
        for future in [pool.submit(task) for task in tasks]:
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def search(bench: Bench) -> list[Result]:
    """Filtered, sorted top-100 run search, median over repetitions."""
    return [result for n in bench.sizes.search_runs for result in _search_one(bench, n)]


def _search_one(bench: Bench, n: int) -> list[Result]:
    rows = _search_data(n)
    name = f"bench-search-{n}"
    mlflow = bench.mlflow()
    experiment = mlflow_experiment(mlflow, name)
    start = time.perf_counter()
    # Filling the stores is not timed: both at once, a few connections each.
    salon = bench.salon()
    add_salon, add_mlflow = _salon_filler(salon, name), _mlflow_filler(mlflow, experiment)
    tasks: list[Callable[[], None]] = []
    for row in rows:
        tasks += [functools.partial(add_salon, row), functools.partial(add_mlflow, row)]
    _run_all(tasks, workers=12)
    bench.salon_points += 2 * len(rows)
    filled = time.perf_counter() - start
    # The MLflow API workload searches these runs again through both servers' MLflow API.
    bench.cache.setdefault("search_experiments", {})[n] = (f"{name}/search", name)

    variables = {
        "project": name,
        "filter": SEARCH_FILTER,
        "orderBy": ["metrics.val_acc desc"],
        "first": 100,
    }
    answers: list[dict[str, Any]] = []

    def salon_query() -> None:
        answers.append(salon.query(RUNS_QUERY, variables)["runs"])

    # The hub keeps a search's answer until a table it was read from changes: every timed
    # search but the "again" row follows such a change, as on a hub in use (a point logged by
    # a run elsewhere changes the metric summaries this search filters and sorts on).
    scratch = bench.init(f"{name}-changes", "changes")
    changes = itertools.count()

    def changed_then_salon_query() -> None:
        step = next(changes)
        scratch.log({"val_acc": 0.5 + step / 1000}, step=step)
        if not scratch.flush(timeout=30):
            raise RuntimeError("the change before a timed search was not stored in 30 s")
        started = time.perf_counter()
        salon_query()
        cold.append((time.perf_counter() - started) * 1000)

    cold: list[float] = []
    with bench.probe(f"search_{n}") as measured:
        median_ms(changed_then_salon_query, bench.sizes.repeats)
        salon_ms = statistics.median(cold[1:])  # the first is the warm-up
        again_ms = median_ms(salon_query, bench.sizes.repeats)
    scratch.finish()
    salon.close()

    found: list[Any] = []

    def mlflow_query() -> None:
        found[:] = mlflow.search_runs(
            [experiment],
            filter_string=SEARCH_FILTER,
            order_by=["metrics.val_acc DESC"],
            max_results=100,
        )

    mlflow_ms = median_ms(mlflow_query, bench.sizes.mlflow_repeats)

    page = answers[-1]
    expected = sorted(
        (r.val_acc for r in rows if r.params["lr"] == "0.01" and r.val_acc > 0.8), reverse=True
    )[:100]
    salon_top = [_metric(node, "val_acc") for node in page.get("nodes", [])]
    mlflow_top = [run.data.metrics.get("val_acc") for run in found]
    agree = salon_top == expected and mlflow_top == expected
    check = (
        "both return the expected top 100"
        if agree
        else (
            f"RESULTS DIFFER: expected {len(expected)} runs, Salon {len(salon_top)}, "
            f"MLflow {len(mlflow_top)}"
        )
    )
    target, limit = (30.0, 30.0) if n <= 10_000 else (100.0, None)
    words = f"≤ {target:g} ms" + (f" and ≥ {limit:g}x" if limit else "")
    searched = with_limit(
        Result(
            f"search top-100 of {n:,} runs",
            "ms",
            False,
            salon_ms,
            mlflow_ms,
            words,
            target,
            limit,
            detail=f"median of {bench.sizes.repeats} (Salon, GraphQL runs with params, tags "
            "and metrics, each after a point logged elsewhere) / "
            f"{bench.sizes.mlflow_repeats} (MLflow search_runs); {page.get('totalCount')} "
            f"matches; {check}; stores filled in {filled:.0f} s",
        ),
        measured,
    )
    again = Result(
        f"the same search again, no change between ({n:,} runs)",
        "ms",
        False,
        again_ms,
        mlflow_ms,
        detail="Salon answers from what it keeps until a table it was read from changes; "
        "MLflow as above",
    )
    return [searched, again]


def _metric(node: dict[str, Any], key: str) -> float | None:
    return next((m["lastValue"] for m in node["metrics"] if m["key"] == key), None)
