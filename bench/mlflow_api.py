"""MLflow's REST API itself: the same requests, body for body, sent to MLflow's tracking server
and to Salon's MLflow endpoints (``/api/2.0/mlflow/...``), as the MLflow client sends them.

What is timed is the HTTP round trip of each call from one ``httpx`` client with keep-alive,
so the MLflow client's own work (building and parsing protobuf messages), which is the same
against either server, does not hide the servers' difference:

- log-batch: a run's 100,000 points (FULL) in calls of 1,000 metrics, MLflow's largest batch;
- get-metric-history of those points, in pages of 25,000 as ``MlflowClient`` asks for them
  (received whole, not decoded);
- runs/search over an experiment of runs with params and metrics: a filtered, ordered page of
  100, and a page of 1,000. After the search workload, over its 10,000 runs (FULL), which
  both stores hold; alone (``--only mlflow-api``), over a few hundred made here.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import httpx

from bench.measure import median_ms
from bench.report import Result
from bench.workloads import LEARNING_RATES, Bench, with_limit

EXPERIMENT = "bench-mlflow-api"
BATCH = 1000
T0 = 1_767_225_600_000
FILTER = "metrics.val_acc > 0.8 and params.lr = '0.01'"


_TOKEN = re.compile(rb'"next_page_token"\s*:\s*"([^"]+)"')


class _Api:
    """One server's MLflow REST API over one keep-alive connection."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url + "/api/2.0/mlflow", headers=headers, timeout=600)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        body: dict[str, Any] = response.json() if response.content else {}
        return body

    def experiment(self) -> str:
        found = self.http.get("experiments/get-by-name", params={"experiment_name": EXPERIMENT})
        if found.status_code == 200:
            return str(found.json()["experiment"]["experiment_id"])
        return str(
            self.call("POST", "experiments/create", json={"name": EXPERIMENT})["experiment_id"]
        )

    def run(self, experiment_id: str, name: str) -> str:
        made = self.call(
            "POST",
            "runs/create",
            json={"experiment_id": experiment_id, "run_name": name, "start_time": T0},
        )
        return str(made["run"]["info"]["run_id"])

    def history(self, run_id: str) -> int:
        """Every point of ``loss``, page by page as MlflowClient.get_metric_history asks. The
        pages are counted, not decoded: what is timed is the server, not the JSON parser."""
        points, token = 0, None
        while True:
            params: dict[str, str | int] = {
                "run_id": run_id,
                "metric_key": "loss",
                "max_results": 25_000,
            }
            if token:
                params["page_token"] = token
            response = self.http.get("metrics/get-history", params=params)
            response.raise_for_status()
            points += response.content.count(b'"step"')
            found = _TOKEN.search(response.content[-200:])
            token = found.group(1).decode() if found else None
            if not token:
                return points

    def close(self) -> None:
        self.http.close()


def _batches(points: int) -> list[list[dict[str, Any]]]:
    metrics = [
        {
            "key": "loss",
            "value": 2 * math.exp(-step / points * 5) + 0.01 * (step % 7),
            "timestamp": T0 + step,
            "step": step,
        }
        for step in range(points)
    ]
    return [metrics[i : i + BATCH] for i in range(0, points, BATCH)]


def _search_runs(api: _Api, experiment_id: str, count: int) -> None:
    for i in range(count):
        run_id = api.run(experiment_id, f"trial-{i}")
        api.call(
            "POST",
            "runs/log-batch",
            json={
                "run_id": run_id,
                "params": [
                    {"key": "lr", "value": LEARNING_RATES[i % 5]},
                    {"key": "batch", "value": str(32 * (1 + i % 4))},
                    {"key": "optimizer", "value": ("adam", "sgd")[i % 2]},
                ],
                "metrics": [
                    {"key": key, "value": value, "timestamp": T0, "step": 10}
                    for key, value in (
                        ("loss", 1 / (i + 1)),
                        ("val_loss", 1.2 / (i + 1)),
                        ("acc", 0.5 + 0.5 * i / count),
                        ("val_acc", 0.45 + 0.5 * i / count),
                        ("lr", 0.01),
                    )
                ],
            },
        )


def _side(api: _Api, bench: Bench, points: int, runs: int, searched: str | None) -> dict[str, Any]:
    """Time one server: log-batch, history, search. Data for search is made untimed, unless
    the search workload left an experiment of many runs (``searched``, its name here)."""
    experiment_id = api.experiment()
    run_id = api.run(experiment_id, "history")
    batches = _batches(points)
    start = time.perf_counter()
    for batch in batches:
        api.call("POST", "runs/log-batch", json={"run_id": run_id, "metrics": batch})
    logged = time.perf_counter() - start
    assert api.history(run_id) == points
    history_ms = median_ms(lambda: api.history(run_id), bench.sizes.mlflow_repeats)
    if searched is None:
        _search_runs(api, experiment_id, runs - 1)  # and the history run
        where = experiment_id
    else:
        where = str(
            api.call("GET", "experiments/get-by-name", params={"experiment_name": searched})[
                "experiment"
            ]["experiment_id"]
        )
    found: list[int] = []

    def filtered() -> None:
        page = api.call(
            "POST",
            "runs/search",
            json={
                "experiment_ids": [where],
                "filter": FILTER,
                "order_by": ["metrics.val_acc DESC"],
                "max_results": 100,
            },
        )
        found[:] = [len(page.get("runs", []))]

    def page_of_1000() -> None:
        page = api.call(
            "POST", "runs/search", json={"experiment_ids": [where], "max_results": 1000}
        )
        assert len(page["runs"]) == min(1000, runs)

    return {
        "log_batch": points / logged,
        "history": history_ms,
        "search": median_ms(filtered, bench.sizes.repeats),
        "search_page": median_ms(page_of_1000, bench.sizes.mlflow_repeats),
        "matches": found[0],
    }


def mlflow_api(bench: Bench) -> list[Result]:
    points = bench.sizes.history_points
    stores = bench.cache.get("search_experiments", {})
    if stores:  # the search workload's runs, in both stores: search where it is hard
        runs = max(stores)
        salon_name, mlflow_name = stores[runs]
    else:
        runs, salon_name, mlflow_name = max(bench.sizes.runs // 2, 25) + 1, None, None
    salon_api = _Api(bench.salon_url, bench.token)
    with bench.probe("mlflow-api") as measured:
        ours = _side(salon_api, bench, points, runs, salon_name)
    salon_api.close()
    mlflow_api = _Api(bench.mlflow_url, None)
    theirs = _side(mlflow_api, bench, points, runs, mlflow_name)
    mlflow_api.close()
    assert ours["matches"] == theirs["matches"] > 0, (ours["matches"], theirs["matches"])
    note = "same JSON bodies to both servers' /api/2.0/mlflow endpoints, one httpx client"
    return [
        with_limit(
            Result(
                f"MLflow API: log-batch, {points:,} points in calls of {BATCH}",
                "points/s",
                True,
                ours["log_batch"],
                theirs["log_batch"],
                "≥ 10x",
                target_ratio=10,
                detail=f"runs/log-batch; {note}; " + measured.cpu_note(),
            ),
            measured,
        ),
        Result(
            f"MLflow API: get-metric-history, {points:,} points",
            "ms",
            False,
            ours["history"],
            theirs["history"],
            "≥ 50x",
            target_ratio=50,
            detail=f"metrics/get-history in pages of 25,000 as MlflowClient asks; {note}; "
            f"median of {bench.sizes.mlflow_repeats}",
        ),
        Result(
            f"MLflow API: search {runs:,} runs, filtered, top 100",
            "ms",
            False,
            ours["search"],
            theirs["search"],
            "≥ 10x",
            target_ratio=10,
            detail=f"runs/search {FILTER!r} ordered by metrics.val_acc DESC; {note}; median of "
            f"{bench.sizes.repeats}",
        ),
        Result(
            f"MLflow API: search {runs:,} runs, a page of 1,000",
            "ms",
            False,
            ours["search_page"],
            theirs["search_page"],
            "≥ 10x",
            target_ratio=10,
            detail=f"runs/search max_results=1000 (mlflow.search_runs() asks for pages); {note}; "
            "median of "
            f"{bench.sizes.mlflow_repeats}",
        ),
    ]
