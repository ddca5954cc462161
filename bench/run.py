"""``python -m bench.run``: Salon against MLflow on the same workloads, printed as a table.

Starts a Salon hub and an MLflow tracking server on 127.0.0.1 with fresh data under
``bench/.work/``, runs the workloads one after the other through each Python client, prints a
table (workload, Salon, MLflow, ratio, target) and writes ``bench/.work/results.json``. Both
servers are stopped on the way out, also after an error, Ctrl+C or SIGTERM.

Nothing here asserts a time: targets are printed as met or MISSED, never enforced.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import os
import platform
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from bench import servers
from bench.datasets import datasets
from bench.load import load
from bench.mlflow_api import mlflow_api
from bench.pages import pages
from bench.registry import registry
from bench.report import Result, render_table, write_json
from bench.scale import scale
from bench.search import search
from bench.workloads import (
    FULL,
    QUICK,
    Bench,
    Sizes,
    big,
    create_runs,
    history,
    ingest,
    memory,
    series,
    warm_up,
)

Workload = Callable[[Bench], list[Result]]
WORKLOADS: dict[str, Workload] = {
    "ingest": ingest,
    "runs": create_runs,
    "search": search,
    "history": history,
    "series": series,
    "datasets": datasets,
    "registry": registry,
    "mlflow-api": mlflow_api,
    "memory": memory,
}
OPT_IN: dict[str, Workload] = {"big": big, "scale": scale, "load": load, "pages": pages}

WORK_DIR = servers.BENCH_DIR / ".work"
RESULTS = WORK_DIR / "results.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = [*WORKLOADS, *OPT_IN]
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes: a smoke test.")
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"Run only this workload (repeatable): {', '.join(names)}.",
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help="Also ingest 100M points through the client and report time and hub RSS (slow).",
    )
    parser.add_argument(
        "--search-runs",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="Store sizes for the search workload, e.g. 10000,100000 (fills both stores).",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Sample the hub with py-spy during Salon's timed sections and name its hot spots.",
    )
    return parser.parse_args(argv)


def _selected(args: argparse.Namespace) -> list[str]:
    if args.only:
        return [name for name in [*WORKLOADS, *OPT_IN] if name in args.only]
    names = list(WORKLOADS)
    if args.big:
        names.insert(names.index("memory"), "big")
    return names


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    mlflow_python = servers.MLFLOW_VENV / "bin" / "python"
    server = "?"
    site = list((servers.MLFLOW_VENV / "lib").glob("python*/site-packages/mlflow-*.dist-info"))
    if mlflow_python.exists() and site:
        server = site[0].name.removeprefix("mlflow-").removesuffix(".dist-info")
    return {
        "salon": version("salon"),
        "mlflow_server": server,
        "mlflow_client": version("mlflow-skinny"),
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }


def run_workloads(bench: Bench, names: list[str]) -> tuple[list[Result], list[str]]:
    """Run each workload in turn; a failing one is reported and the rest still run."""
    everything = {**WORKLOADS, **OPT_IN}
    results: list[Result] = []
    failed: list[str] = []
    for name in names:
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            results += everything[name](bench)
        except Exception as exc:
            traceback.print_exc()
            failed.append(name)
            results.append(Result(name, "", True, None, detail=f"FAILED: {exc!r}"))
        print(f"[bench] {name} took {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return results, failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes: Sizes = QUICK if args.quick else FULL
    if args.search_runs:
        sizes = dataclasses.replace(sizes, search_runs=args.search_runs)
    names = _selected(args)
    load_before = os.getloadavg()[0]
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # no "View run" lines
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored

    data_dir = WORK_DIR / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    servers.ensure_mlflow_venv()
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # Start both, then wait for both: they boot in parallel, and each is stopped on exit.
        salon, token = servers.start_salon(data_dir)
        stack.callback(salon.stop)
        mlflow = servers.start_mlflow(data_dir)
        stack.callback(mlflow.stop)
        salon.wait_healthy()
        mlflow.wait_healthy()
        print(f"[bench] servers up in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        bench = Bench(
            salon.url, token, salon.pid, mlflow.url, mlflow.pid, sizes, data_dir, args.profile
        )
        warm_up(bench)
        results, failed = run_workloads(bench, names)

    meta = {
        "mode": "quick" if args.quick else "full",
        "workloads": names,
        "sizes": dataclasses.asdict(sizes),
        "versions": _versions(),
        "machine": platform.platform(),
        "seconds": round(time.perf_counter() - started, 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    versions = meta["versions"]
    assert isinstance(versions, dict)
    print(
        f"Salon {versions['salon']} vs MLflow {versions['mlflow_server']} "
        f"(client {versions['mlflow_client']}), {meta['mode']} mode, {versions['cpus']} CPUs, "
        "servers and client on this machine, HTTP on 127.0.0.1; "
        f"1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(other processes share these cores)\n"
    )
    print(render_table(results))
    write_json(RESULTS, results, meta)
    print(f"\nResults written to {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped.", file=sys.stderr)
        sys.exit(130)
