"""The workloads: each does the same job through Salon's client and MLflow's, and returns rows.

Both servers run on this machine and share its cores with the client, so each side is timed
alone, one after the other. Data is generated before the clock starts; what is timed is the
client call a user would write, end to end over HTTP.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import hub
from bench.measure import Probe, median_ms, probe
from bench.report import Result
from hub.client.client import RUNS_QUERY, SERIES_QUERY

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

KEYS = ("loss", "val_loss", "acc", "val_acc", "lr")
LEARNING_RATES = ("0.001", "0.003", "0.01", "0.03", "0.1")
SEARCH_FILTER = "metrics.val_acc > 0.8 and params.lr = '0.01'"
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch call
CREATE_RUN = """
mutation BenchCreateRun($input: CreateRunInput!) {
  createRun(input: $input) { __typename ... on Run { id } ... on Error { message } }
}
"""


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does (``QUICK`` for a smoke test, ``FULL`` for numbers)."""

    ingest_points: int  # Salon, log_columns, over len(KEYS) metrics
    log_points: int  # Salon, run.log per step
    mlflow_ingest_points: int  # MLflow log_batch, one metric; also its history run
    runs: int
    search_runs: tuple[int, ...]
    history_points: int
    series_points: int
    repeats: int  # timed repetitions of a Salon query
    mlflow_repeats: int  # of an MLflow query (they are slow)
    big_points: int = 100_000_000


QUICK = Sizes(200_000, 20_000, 10_000, 50, (200,), 10_000, 100_000, 20, 3)
FULL = Sizes(5_000_000, 200_000, 100_000, 1_000, (10_000,), 100_000, 1_000_000, 20, 3)


@dataclass
class Bench:
    """Where the servers are, how big to go, and what earlier workloads left for later ones."""

    salon_url: str
    token: str
    hub_pid: int
    mlflow_url: str
    mlflow_pid: int
    sizes: Sizes
    workdir: Path
    profile: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    salon_points: int = 0  # metric points stored in the hub so far

    def salon(self) -> hub.Client:
        return hub.Client(self.salon_url, self.token, timeout=300.0)

    def mlflow(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.mlflow_url)

    def init(self, project: str, experiment: str, **kwargs: Any) -> hub.Run:
        """``hub.init`` against the bench hub, without environment capture unless asked."""
        kwargs.setdefault("capture_environment", False)
        return hub.init(project, experiment, url=self.salon_url, token=self.token, **kwargs)

    def probe(self, label: str) -> AbstractContextManager[Probe]:
        """Time a Salon section; with ``--profile`` also sample the hub with py-spy."""
        path = self.workdir / "profiles" / f"{label}.txt" if self.profile else None
        return probe(self.hub_pid, path)


def with_limit(result: Result, measured: Probe) -> Result:
    """Say what limits Salon when it misses a target: CPU split and, if profiled, hot spots."""
    if result.met is False:
        hot = measured.hotspot_note()
        where = f"; hub busy in {hot}" if hot else "; run with --profile for the hub's hot spots"
        result.limit = measured.cpu_note() + where
    return result


def mlflow_experiment(client: MlflowClient, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found else client.create_experiment(name)


def _mlflow_log_series(client: MlflowClient, run_id: str, key: str, values: np.ndarray) -> None:
    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    for start in range(0, len(values), MLFLOW_BATCH):
        chunk = values[start : start + MLFLOW_BATCH].tolist()
        metrics = [Metric(key, v, stamp, start + i) for i, v in enumerate(chunk)]
        client.log_batch(run_id, metrics=metrics)


def _salon_run_with(bench: Bench, name: str, steps: int, keys: tuple[str, ...]) -> str:
    """A finished Salon run with ``steps`` points of each of ``keys``; returns its id."""
    rng = np.random.default_rng(7)
    run = bench.init("bench-history", "history", name=name)
    chunk = 1_000_000
    for start in range(0, steps, chunk):
        stop = min(steps, start + chunk)
        run.log_columns(np.arange(start, stop), {k: rng.random(stop - start) for k in keys})
    run.finish()
    bench.salon_points += steps * len(keys)
    return run.id


def warm_up(bench: Bench) -> None:
    """One small untimed run through each client, so first-call costs (imports, Arrow
    kernels, the servers' first queries) land on no workload."""
    from mlflow.entities import Metric, Param

    run = bench.init("bench-warmup", "warmup", config={"lr": 0.1})
    run.log_columns(np.arange(10), {"loss": np.ones(10)})
    run.log({"acc": 1.0})
    run.finish()
    with bench.salon() as salon:
        salon.query(RUNS_QUERY, {"project": "bench-warmup", "filter": SEARCH_FILTER, "first": 5})
        salon.metrics([run.id], ["loss"])
    bench.salon_points += 11
    client = bench.mlflow()
    experiment = mlflow_experiment(client, "bench-warmup")
    run_id = client.create_run(experiment).info.run_id
    client.log_batch(run_id, metrics=[Metric("loss", 1.0, 0, 0)], params=[Param("lr", "0.1")])
    client.set_terminated(run_id)
    client.search_runs([experiment], filter_string=SEARCH_FILTER, max_results=5)
    client.get_metric_history(run_id, "loss")


# -- 1. ingest -------------------------------------------------------------------------------------


def ingest(bench: Bench) -> list[Result]:
    """Metric points per second through each Python client over HTTP."""
    sizes = bench.sizes
    rng = np.random.default_rng(0)
    steps = sizes.ingest_points // len(KEYS)
    columns = {key: rng.random(steps) for key in KEYS}
    chunk = 100_000  # steps per log_columns call, as a replay loop would send them

    with bench.probe("ingest_columns") as measured:
        run = bench.init("bench-ingest", "columns", name="log_columns")
        for start in range(0, steps, chunk):
            stop = min(steps, start + chunk)
            run.log_columns(np.arange(start, stop), {k: v[start:stop] for k, v in columns.items()})
        run.finish()
    points = steps * len(KEYS)
    bench.salon_points += points
    bench.cache["salon_series_run"] = (run.id, steps)
    columns_rate = points / measured.seconds
    dropped = run.dropped_points

    log_steps = sizes.log_points // len(KEYS)
    values = rng.random((log_steps, len(KEYS))).tolist()
    with bench.probe("ingest_log") as log_measured:
        run = bench.init("bench-ingest", "log", name="log")
        for step, row in enumerate(values):
            run.log(dict(zip(KEYS, row, strict=True)), step=step)
        run.finish()
    bench.salon_points += log_steps * len(KEYS)
    log_rate = log_steps * len(KEYS) / log_measured.seconds

    client = bench.mlflow()
    experiment = mlflow_experiment(client, "bench-ingest")
    loss = rng.random(sizes.mlflow_ingest_points)
    began = time.perf_counter()
    mlflow_run = client.create_run(experiment, run_name="log_batch")
    _mlflow_log_series(client, mlflow_run.info.run_id, "loss", loss)
    client.set_terminated(mlflow_run.info.run_id)
    mlflow_rate = len(loss) / (time.perf_counter() - began)
    bench.cache["mlflow_history_run"] = (mlflow_run.info.run_id, len(loss))

    mlflow_note = f"MLflow: log_batch of {MLFLOW_BATCH} metrics per call, {len(loss):,} points"
    return [
        with_limit(
            Result(
                f"ingest run.log_columns ({points / 1e6:g}M pts)",
                "pts/s",
                True,
                columns_rate,
                mlflow_rate,
                "≥ 1M pts/s and ≥ 150x",
                1_000_000,
                150,
                detail=f"{len(KEYS)} metrics x {steps:,} steps, init to finish(); "
                f"{dropped} dropped; {measured.cpu_note()}; {mlflow_note}",
            ),
            measured,
        ),
        Result(
            f"ingest run.log per step ({log_steps * len(KEYS) / 1e3:g}k pts)",
            "pts/s",
            True,
            log_rate,
            mlflow_rate,
            detail=f"dict of {len(KEYS)} metrics per step; {log_measured.cpu_note()}",
        ),
    ]


# -- 2. create runs --------------------------------------------------------------------------------


def _params(i: int) -> dict[str, str]:
    return {f"param_{k:02d}": f"{(i * 31 + k) % 97}" for k in range(20)}


def _salon_runs(bench: Bench, label: str, name: str, wait: bool) -> tuple[float, Probe]:
    """Runs per second through ``hub.init`` + log + finish, each finish waiting for the hub
    or, with ``wait=False``, all of them waited for once at the end (``hub.flush``)."""
    n = bench.sizes.runs
    metrics = {key: 0.5 for key in KEYS}
    with bench.probe(label) as measured:
        for i in range(n):
            run = bench.init("bench-runs", name, name=f"run-{i}", config=_params(i))
            run.log(metrics, step=0)
            run.finish(wait=wait)
        if not hub.flush(timeout=600):
            raise RuntimeError("the hub did not take every run within 10 minutes")
    bench.salon_points += n * len(KEYS)
    return n / measured.seconds, measured


def create_runs(bench: Bench) -> list[Result]:
    """Whole small runs per second: start with 20 params, log 5 metrics, finish."""
    n = bench.sizes.runs
    metrics = {key: 0.5 for key in KEYS}
    waiting, waited = _salon_runs(bench, "create_runs", "runs", wait=True)
    batched, sent = _salon_runs(bench, "create_runs_batched", "runs-batched", wait=False)

    from mlflow.entities import Metric, Param

    client = bench.mlflow()
    experiment = mlflow_experiment(client, "bench-runs")
    start = time.perf_counter()
    for i in range(n):
        run_id = client.create_run(experiment, run_name=f"run-{i}").info.run_id
        stamp = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in _params(i).items()],
        )
        client.set_terminated(run_id)
    mlflow_rate = n / (time.perf_counter() - start)
    what = f"({n:,} x 20 params, 5 metrics)"
    return [
        with_limit(
            Result(
                f"create runs, finish() waits {what}",
                "runs/s",
                True,
                waiting,
                mlflow_rate,
                detail="Salon: hub.init(capture_environment=False) + log + finish(), one "
                "request a run; MLflow: create_run + log_batch + set_terminated; "
                + waited.cpu_note(),
            ),
            waited,
        ),
        with_limit(
            Result(
                f"create runs, finish(wait=False) {what}",
                "runs/s",
                True,
                batched,
                mlflow_rate,
                "≥ 20x",
                target_ratio=20,
                detail="Salon: the same, finish(wait=False), then hub.flush() inside the "
                "timing: the process's sender puts many runs in a request; " + sent.cpu_note(),
            ),
            sent,
        ),
    ]


# -- 4. history ------------------------------------------------------------------------------------


def history(bench: Bench) -> list[Result]:
    """One metric's full history: Salon as Arrow, MLflow via get_metric_history."""
    n = bench.sizes.history_points
    run_id = _salon_run_with(bench, f"history-{n}", n, ("loss", "acc"))
    salon = bench.salon()
    lengths: list[int] = []

    def salon_read() -> None:
        lengths.append(salon.metrics([run_id], ["loss"]).height)

    with bench.probe("history") as measured:
        salon_ms = median_ms(salon_read, bench.sizes.repeats)
    salon.close()

    client = bench.mlflow()
    cached = bench.cache.get("mlflow_history_run")
    if cached is not None and cached[1] == n:
        mlflow_run_id = cached[0]
    else:
        mlflow_run_id = client.create_run(mlflow_experiment(client, "bench-history")).info.run_id
        _mlflow_log_series(client, mlflow_run_id, "loss", np.random.default_rng(7).random(n))
    got: list[int] = []

    def mlflow_read() -> None:
        got.append(len(client.get_metric_history(mlflow_run_id, "loss")))

    mlflow_ms = median_ms(mlflow_read, bench.sizes.mlflow_repeats, warmup=0)
    check = (
        "both read every point"
        if lengths[-1] == got[-1] == n
        else (f"POINT COUNTS DIFFER: Salon {lengths[-1]}, MLflow {got[-1]}, expected {n}")
    )
    return [
        with_limit(
            Result(
                f"history of one metric ({n / 1e3:g}k pts)",
                "ms",
                False,
                salon_ms,
                mlflow_ms,
                "≤ 50 ms and ≥ 100x",
                50,
                100,
                detail="Salon: Client.metrics (Arrow, to polars); MLflow: get_metric_history; "
                f"median of {bench.sizes.repeats} / {bench.sizes.mlflow_repeats}; {check}",
            ),
            measured,
        )
    ]


def series(bench: Bench) -> list[Result]:
    """Salon only: a downsampled chart series (≤ 2,000 buckets) of a long metric via GraphQL."""
    n = bench.sizes.series_points
    cached = bench.cache.get("salon_series_run")
    if cached is not None and cached[1] == n:
        run_id = cached[0]
    else:
        run_id = _salon_run_with(bench, f"series-{n}", n, ("loss",))
    salon = bench.salon()
    variables = {"runIds": [run_id], "keys": ["loss"], "buckets": 2000}
    sizes: list[int] = []

    def salon_read() -> None:
        sizes.append(len(salon.query(SERIES_QUERY, variables)["metricSeries"][0]["steps"]))

    with bench.probe("series") as measured:
        salon_ms = median_ms(salon_read, bench.sizes.repeats)
    salon.close()
    return [
        with_limit(
            Result(
                f"chart series, 2,000 buckets of {n / 1e6:g}M pts",
                "ms",
                False,
                salon_ms,
                None,
                "≤ 30 ms",
                30,
                detail=f"GraphQL metricSeries, {sizes[-1]} points back; MLflow has no "
                "server-side downsampling",
            ),
            measured,
        )
    ]


# -- 5. memory -------------------------------------------------------------------------------------


def memory(bench: Bench) -> list[Result]:
    """Resident memory of each server after the workloads that ran before it."""
    import psutil

    hub_rss = psutil.Process(bench.hub_pid).memory_info().rss / 2**20
    mlflow = psutil.Process(bench.mlflow_pid)
    mlflow_rss = sum(p.memory_info().rss for p in [mlflow, *mlflow.children(True)]) / 2**20
    return [
        Result(
            "server RSS after the workloads",
            "MB",
            False,
            hub_rss,
            mlflow_rss,
            "< 1 GB (at 100M pts)",
            1024,
            detail=f"hub holds {bench.salon_points:,} points; MLflow counted with its "
            "uvicorn worker; ratio = MLflow / Salon",
        )
    ]


def big(bench: Bench) -> list[Result]:
    """Opt-in (--big): ingest ``big_points`` through the client, then report time and RSS."""
    import psutil

    total = bench.sizes.big_points
    chunk = 1_000_000  # steps per call
    steps = total // len(KEYS)
    values = np.random.default_rng(3).random(chunk)
    with bench.probe("big") as measured:
        run = bench.init("bench-big", "big", name=f"{total / 1e6:g}M")
        for start in range(0, steps, chunk):
            stop = min(steps, start + chunk)
            run.log_columns(np.arange(start, stop), {k: values[: stop - start] for k in KEYS})
            if (start // chunk) % 2 == 1:
                run.flush()  # keep the client's buffer bounded; the hub is the bottleneck
        run.finish(timeout=3600)
    bench.salon_points += steps * len(KEYS)
    rss = psutil.Process(bench.hub_pid).memory_info().rss / 2**20
    size = sum(f.stat().st_size for f in (bench.workdir / "salon").glob("*")) / 2**20
    return [
        with_limit(
            Result(
                f"big ingest ({total / 1e6:g}M pts)",
                "pts/s",
                True,
                steps * len(KEYS) / measured.seconds,
                target="≥ 1M pts/s",
                target_value=1_000_000,
                detail=f"{measured.seconds:.0f} s; {run.dropped_points} dropped; "
                f"{measured.cpu_note()}; DuckDB files {size:,.0f} MB",
            ),
            measured,
        ),
        Result(
            f"hub RSS holding {bench.salon_points / 1e6:.0f}M pts",
            "MB",
            False,
            rss,
            target="< 1 GB",
            target_value=1024,
        ),
    ]
