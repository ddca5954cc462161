"""The datasets workload: upload a large Parquet file, diff two versions, page through one,
and upload the first 2M rows again as CSV.

Salon's upload is ``Client.upload_dataset`` of a file: the hub streams it to disk and a worker
process (``hub.store.dataset_worker``) profiles every column before the version exists, after
writing it as zstd Parquet unless it is Parquet that reads well (kept as it came). What a
user of MLflow would do instead is ``log_artifact`` the file to a run, which only stores the
bytes; both are timed end to end over HTTP. While each upload runs, the server's processes are
sampled every 50 ms for their resident memory. A file kept as it came with big row groups is
written again by the hub in the background once its version is ready
(``hub.services.data.dataset_layout``): after each upload the bench waits for that, and says
how long it took, before it measures anything else (it would take the cores from MLflow's
upload, the compare and the pages).

Version diffs and preview pages have no MLflow counterpart and are Salon only.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import hub
from bench.dataset_files import check_disk, dataset_rows, write_events
from bench.report import Result
from bench.workloads import Bench, with_limit
from hub.client.errors import HubError
from hub.services.data.dataset_layout import LAID_OUT_ROWS

PROJECT = "bench-datasets"
DATASET = "events"
CSV_DATASET = "events-csv"
CSV_ROWS = 2_000_000  # the CSV upload's rows, from the first version (357 MB)
UPLOAD_TARGET, UPLOAD_TARGET_MB_S = "≥ 100 MB/s", 100.0  # issue 23: upload, conversion, profile
SAMPLE_SECONDS = 0.05
SORT_COLUMN = "x0"  # a float column, random, so the sort really has to sort
COMPARE_REPEATS = 3
COMPARE_BUDGET = 60.0  # seconds of timed compares, after which no more are started
PREVIEW_REPEATS = 10
PREVIEW_BUDGET = 30.0
WORKER_NAME = "dataset_worker"  # in the command line, as `-m hub.store.…` or a script path

COMPARE = """
query BenchCompare($project: String!, $name: String!, $before: Int!, $after: Int!,
                   $key: String) {
  dataset(project: $project, name: $name) {
    compare(before: $before, after: $after, key: $key) {
      __typename
      ... on DatasetComparison { rowsBefore rowsAfter rowsAdded rowsRemoved rowsChanged }
      ... on Error { message }
    }
  }
}
"""
ROWS = """
query BenchRows($project: String!, $name: String!, $offset: Int!, $limit: Int!,
                $orderBy: [String!]) {
  dataset(project: $project, name: $name) {
    version {
      number
      rows(offset: $offset, limit: $limit, orderBy: $orderBy) {
        __typename
        ... on DatasetRows { total rows }
        ... on Error { message }
      }
    }
  }
}
"""


# -- memory sampling -------------------------------------------------------------------------------


@dataclass
class _Peaks:
    """Peak RSS of a server process (alone, and with its children) and of the upload worker."""

    root: float = 0.0
    with_children: float = 0.0
    worker: float = 0.0
    worker_seconds: float = 0.0  # how long a worker process was seen alive
    workers: set[int] = field(default_factory=set)
    samples: int = 0


class _Sampler:
    """Samples a process and its children every ``SAMPLE_SECONDS`` on a thread while in use."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peaks = _Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._workers: dict[int, psutil.Process] = {}

    def __enter__(self) -> _Peaks:
        self._sample()
        self._thread.start()
        return self.peaks

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(SAMPLE_SECONDS):
            now = time.perf_counter()
            if self._sample():
                self.peaks.worker_seconds += now - last
            last = now

    def _sample(self) -> bool:
        """One sample; True when a worker was alive."""
        peaks = self.peaks
        try:
            root = self.root.memory_info().rss
            children = self.root.children(recursive=True)
        except psutil.Error:
            return False
        total, worker_alive = root, False
        for child in children:
            try:
                # Asked again until it says worker: just after the fork, before the exec, the
                # child still shows the hub's command line.
                if child.pid not in self._workers and WORKER_NAME in " ".join(child.cmdline()):
                    self._workers[child.pid] = child
                is_worker = child.pid in self._workers
                rss = self._workers.get(child.pid, child).memory_info().rss
            except psutil.Error:
                continue
            total += rss
            if is_worker:
                worker_alive = True
                peaks.workers.add(child.pid)
                peaks.worker = max(peaks.worker, rss / 2**20)
        peaks.root = max(peaks.root, root / 2**20)
        peaks.with_children = max(peaks.with_children, total / 2**20)
        peaks.samples += 1
        return worker_alive


def _children_cpu(pid: int) -> float:
    """CPU seconds of the process's finished (waited-for) children so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.children_user + times.children_system)


# -- the workload ----------------------------------------------------------------------------------


def _mlflow_upload(bench: Bench, path: Path) -> tuple[float, _Peaks]:
    """``log_artifact`` of the file to a new run; the experiment's artifacts go through the
    server (``mlflow-artifacts:/``), so the bytes travel over HTTP as Salon's do."""
    client = bench.mlflow()
    found = client.get_experiment_by_name(PROJECT)
    experiment = (
        found.experiment_id
        if found
        else client.create_experiment(PROJECT, artifact_location=f"mlflow-artifacts:/{PROJECT}")
    )
    run_id = client.create_run(experiment, run_name="events").info.run_id
    with _Sampler(bench.mlflow_pid) as peaks:
        start = time.perf_counter()
        client.log_artifact(run_id, str(path))
        seconds = time.perf_counter() - start
    client.set_terminated(run_id)
    return seconds, peaks


def _say(text: str) -> None:
    print(f"[bench] datasets: {text}", file=sys.stderr, flush=True)


LAYOUT = """query($project: String!, $name: String!) {
  dataset(project: $project, name: $name) { version { number rowGroupRows } } }"""
LAYOUT_WAIT = 600.0  # seconds: a 10M-row file is written again in a few


def _laid_out(salon: hub.Client, name: str) -> str:
    """Wait until the hub has looked at the latest version's stored file (and written it again
    when its row groups were too big); what it found, and how long the wait was."""
    start = time.perf_counter()
    while True:
        found = salon.query(LAYOUT, {"project": PROJECT, "name": name})["dataset"]["version"]
        rows = found["rowGroupRows"]
        waited = time.perf_counter() - start
        if rows is not None and rows <= LAID_OUT_ROWS:
            break
        if waited > LAYOUT_WAIT:
            return f"version {found['number']} NOT laid out after {waited:.0f} s ({rows} rows)"
        time.sleep(0.1)
    _say(f"version {found['number']} laid out ({rows:,} rows a row group) {waited:.1f} s later")
    return f"{waited:.1f} s after it was ready, the hub had it in row groups of {rows:,} rows"


def datasets(bench: Bench) -> list[Result]:
    """Upload + profile vs log_artifact, version diff, preview pages (see the module doc)."""
    rows = dataset_rows(bench.sizes)
    folder = bench.workdir / "datasets"
    check_disk(folder, rows)
    try:
        return _datasets(bench, rows, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        # MLflow's copy of the file (its artifacts destination, under the server's data dir).
        shutil.rmtree(bench.workdir / "mlflow" / "mlartifacts" / PROJECT, ignore_errors=True)


def _datasets(bench: Bench, rows: int, folder: Path) -> list[Result]:
    first, second = folder / "events_v1.parquet", folder / "events_v2.parquet"
    started = time.perf_counter()
    size = write_events(first, rows, second=False)
    size_two = write_events(second, rows, second=True)
    mb, mb_two = size / 2**20, size_two / 2**20
    _say(
        f"wrote {rows:,} rows x 20 columns twice ({mb:,.0f} + {mb_two:,.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    label = f"{rows / 1e6:g}M rows x 20 cols, {mb:,.0f} MB Parquet"

    with bench.salon() as salon:
        return _measure(bench, salon, rows, label, (first, mb), (second, mb_two))


def _measure(
    bench: Bench,
    salon: hub.Client,
    rows: int,
    label: str,
    first_file: tuple[Path, float],
    second_file: tuple[Path, float],
) -> list[Result]:
    (first, mb), (second, mb_two) = first_file, second_file
    error = ""
    uploaded: dict[str, Any] = {}
    worker_cpu = _children_cpu(bench.hub_pid)
    with _Sampler(bench.hub_pid) as hub_peaks, bench.probe("dataset_upload") as measured:
        try:
            uploaded = salon.upload_dataset(PROJECT, DATASET, first, message="bench v1")
        except HubError as exc:
            error = str(exc)
    worker_cpu = _children_cpu(bench.hub_pid) - worker_cpu
    _say(f"Salon upload {measured.seconds:.1f} s" + (f", FAILED: {error}" if error else ""))
    layout = "" if error else f"; {_laid_out(salon, DATASET)}"

    mlflow_seconds, mlflow_peaks = _mlflow_upload(bench, first)
    _say(f"MLflow log_artifact {mlflow_seconds:.1f} s")

    stored = uploaded.get("bytes", 0)
    kept = stored == first.stat().st_size  # a file that reads well is stored as it came
    how = "kept as it came" if kept else "converted to zstd Parquet"
    salon_note = (
        f"Salon upload FAILED after {measured.seconds:.1f} s: {error}"
        if error
        else f"Salon: Client.upload_dataset until version {uploaded.get('version')} is ready, "
        f"{measured.seconds:.1f} s (worker alive {hub_peaks.worker_seconds:.1f} s of it): "
        f"streamed to disk, then {how} ({stored / 2**20:,.0f} MB stored) and "
        f"profiled in a worker process; {measured.cpu_note()}, worker CPU {worker_cpu:.0f} s"
        f"{layout}"
    )
    results = [
        with_limit(
            Result(
                f"dataset upload + profile ({label})",
                "MB/s",
                True,
                None if error else mb / measured.seconds,
                mb / mlflow_seconds,
                UPLOAD_TARGET,
                UPLOAD_TARGET_MB_S,
                detail=f"{salon_note}; MLflow: MlflowClient.log_artifact to a run "
                f"(proxied mlflow-artifacts upload), {mlflow_seconds:.1f} s, stores the bytes "
                "only (no conversion, no profile)",
            ),
            measured,
        ),
        Result(
            "hub peak RSS during the upload",
            "MB",
            False,
            hub_peaks.root,
            mlflow_peaks.with_children,
            "< 1 GB",
            1024,
            detail="sampled every 50 ms; the issue's aim: a 2 GB file uploads within a normal "
            f"memory budget; MLflow server with its uvicorn worker during log_artifact; "
            f"hub + worker together peaked at {hub_peaks.with_children:,.0f} MB; "
            "ratio = MLflow / Salon",
        ),
        Result(
            "dataset worker peak RSS during the upload",
            "MB",
            False,
            hub_peaks.worker if hub_peaks.workers else None,
            detail=f"{len(hub_peaks.workers)} worker process(es) seen in {hub_peaks.samples} "
            "samples; the worker's address space is capped at SALON_DATASET_WORKER_MEMORY_MB "
            "(2,048 MB by default); MLflow has no such step",
        ),
    ]
    if not error:
        results += _compare(bench, salon, rows, second, mb_two)
        results += _previews(bench, salon, rows)
    results.append(_csv_upload(bench, salon, first, rows))
    return results


def _csv_upload(bench: Bench, salon: hub.Client, parquet: Path, rows: int) -> Result:
    """The first CSV_ROWS rows of ``parquet`` as CSV, uploaded as a dataset of its own: read,
    written as zstd Parquet and profiled (a Parquet upload that reads well is only profiled)."""
    count = min(rows, CSV_ROWS)
    source = parquet.with_name("events.csv")
    with pacsv.CSVWriter(source, pq.read_schema(parquet)) as writer:
        left = count
        for batch in pq.ParquetFile(parquet).iter_batches(batch_size=100_000):
            writer.write_batch(batch.slice(0, left))
            left -= min(left, batch.num_rows)
            if not left:
                break
    mb = source.stat().st_size / 2**20
    size = f"{count / 1e6:g}M rows x 20 cols, {mb:,.0f} MB"
    name = f"dataset upload + conversion + profile (CSV, {size})"
    with bench.probe("dataset_upload_csv") as measured:
        try:
            uploaded = salon.upload_dataset(PROJECT, CSV_DATASET, source, message="bench csv")
        except HubError as exc:
            return Result(name, "MB/s", True, None, detail=f"Salon upload FAILED: {exc}")
    mlflow_seconds, _ = _mlflow_upload(bench, source)
    _say(f"Salon CSV upload {measured.seconds:.1f} s, MLflow {mlflow_seconds:.1f} s")
    return with_limit(
        Result(
            name,
            "MB/s",
            True,
            mb / measured.seconds,
            mb / mlflow_seconds,
            UPLOAD_TARGET,
            UPLOAD_TARGET_MB_S,
            detail=f"Salon: Client.upload_dataset until version {uploaded.get('version')} is "
            f"ready, {measured.seconds:.1f} s: {uploaded.get('rows', 0):,} rows written as "
            f"{uploaded.get('bytes', 0) / 2**20:,.0f} MB of zstd Parquet and profiled; "
            f"{measured.cpu_note()}; MLflow: log_artifact of the same file, "
            f"{mlflow_seconds:.1f} s, bytes only",
        ),
        measured,
    )


def _median_within(
    call: Callable[[], object], repeats: int, budget: float, warmup: int
) -> list[float]:
    """Times in ms of up to ``repeats`` calls after ``warmup`` untimed ones, stopping early
    once the timed calls have taken ``budget`` seconds (at least one is timed): at many
    seconds a call, more repetitions add minutes and little precision."""
    for _ in range(warmup):
        call()
    times: list[float] = []
    while len(times) < repeats and sum(times) < budget * 1000:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _spread(times: list[float], wanted: int, budget: float) -> str:
    """E.g. ``median of 10 (4,558 to 9,472 ms)`` or ``… of 4 (stopped at the 45 s budget) …``."""
    stopped = f" (of {wanted}; stopped at the {budget:.0f} s budget)" if len(times) < wanted else ""
    if len(times) == 1:
        return f"one call{stopped}"
    return f"median of {len(times)}{stopped}, {min(times):,.0f} to {max(times):,.0f} ms"


def _compare(
    bench: Bench, salon: hub.Client, rows: int, second: Path, mb_two: float
) -> list[Result]:
    name = f"compare v1 → v2 by id ({rows / 1e6:g}M rows each)"
    with bench.probe("dataset_upload_v2") as upload_two:
        try:
            salon.upload_dataset(PROJECT, DATASET, second, message="bench v2")
        except HubError as exc:
            return [Result(name, "ms", False, None, detail=f"version 2 upload FAILED: {exc}")]
    _say(f"Salon upload of version 2 {upload_two.seconds:.1f} s")
    layout = _laid_out(salon, DATASET)
    variables = {"project": PROJECT, "name": DATASET, "before": 1, "after": 2, "key": "id"}
    answers: list[dict[str, Any]] = []

    def compare() -> None:
        answers.append(salon.query(COMPARE, variables)["dataset"]["compare"])

    with _Sampler(bench.hub_pid) as peaks, bench.probe("dataset_compare") as measured:
        times = _median_within(compare, COMPARE_REPEATS, COMPARE_BUDGET, warmup=0)
    _say(f"compare {', '.join(f'{t / 1000:.1f}' for t in times)} s")
    answer = answers[-1]
    if answer["__typename"] != "DatasetComparison":
        return [Result(name, "ms", False, None, detail=f"compare FAILED: {answer['message']}")]
    expected = rows // 100
    counts = (answer["rowsAdded"], answer["rowsRemoved"], answer["rowsChanged"])
    check = (
        f"{expected:,} rows added, removed and changed each, as generated"
        if counts == (expected,) * 3
        else f"COUNTS DIFFER: added/removed/changed {counts}, expected {expected:,} each"
    )
    return [
        with_limit(
            Result(
                name,
                "ms",
                False,
                statistics.median(times),
                detail=f'GraphQL dataset.compare(before: 1, after: 2, key: "id"), '
                f"{_spread(times, COMPARE_REPEATS, COMPARE_BUDGET)}, no warm-up; {check}; "
                f"hub peak RSS {peaks.root:,.0f} MB; version 2 ({mb_two:,.0f} MB) uploaded in "
                f"{upload_two.seconds:.1f} s ({mb_two / upload_two.seconds:,.1f} MB/s; {layout}); "
                f"{measured.cpu_note()}; MLflow has no version diff",
            ),
            measured,
        )
    ]


def _previews(bench: Bench, salon: hub.Client, rows: int) -> list[Result]:
    middle = rows // 2
    sorted_name = f"preview page sorted by {SORT_COLUMN} desc at offset {middle:,}"
    return [
        _preview(bench, salon, sorted_name, middle, [f"{SORT_COLUMN} desc"], "≤ 300 ms", 300.0),
        _preview(bench, salon, "preview first page, unsorted", 0, None, "≤ 50 ms", 50.0),
    ]


def _preview(
    bench: Bench,
    salon: hub.Client,
    name: str,
    offset: int,
    order_by: list[str] | None,
    target: str,
    bound: float,
) -> Result:
    """Median time of one 50-row page of the latest version, through GraphQL."""
    variables = {
        "project": PROJECT,
        "name": DATASET,
        "offset": offset,
        "limit": 50,
        "orderBy": order_by,
    }
    pages: list[dict[str, Any]] = []

    def page() -> None:
        pages.append(salon.query(ROWS, variables)["dataset"]["version"])

    tag = "sorted" if order_by else "unsorted"
    first = time.perf_counter()
    page()  # untimed: the first read of the file's metadata
    first_ms = (time.perf_counter() - first) * 1000
    with _Sampler(bench.hub_pid) as peaks, bench.probe(f"dataset_preview_{tag}") as measured:
        times = _median_within(page, PREVIEW_REPEATS, PREVIEW_BUDGET, warmup=0)
    _say(f"{tag} preview page {statistics.median(times):,.0f} ms")
    got = pages[-1]["rows"]
    spread = _spread(times, PREVIEW_REPEATS, PREVIEW_BUDGET)
    if got["__typename"] != "DatasetRows":
        return Result(name, "ms", False, None, detail=f"FAILED: {got['message']}")
    return with_limit(
        Result(
            name,
            "ms",
            False,
            statistics.median(times),
            target=target,
            target_value=bound,
            detail=f"GraphQL dataset.version.rows(offset: {offset:,}, limit: 50"
            + (f", orderBy: {order_by}" if order_by else "")
            + f") of version {pages[-1]['number']}, {spread}"
            f" after one untimed call ({first_ms:,.0f} ms); {len(got['rows'])} rows of "
            f"{got['total']:,}; hub peak RSS {peaks.root:,.0f} MB; MLflow has no table preview",
        ),
        measured,
    )
