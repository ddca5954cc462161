"""Timing helpers: wall clock plus where the CPU went, and optional py-spy profiles of the hub.

A :func:`probe` around a timed section records its wall time, the CPU seconds the hub process
and this (client) process spent in it and, when asked, a py-spy sample of the hub. Together
they answer "what limits it": a hub near 100% of one core is CPU-bound in the hub, a hub and
client both mostly idle point at latency (round trips, fsync), a busy client at the client.
"""

from __future__ import annotations

import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

_LINE_NUMBER = re.compile(r":\d+\)")


@dataclass
class Probe:
    """What happened during one timed section; filled in when the ``with`` block ends."""

    seconds: float = 0.0
    hub_cpu: float = 0.0
    client_cpu: float = 0.0
    hotspots: list[tuple[str, float]] = field(default_factory=list)

    def cpu_note(self) -> str:
        """E.g. ``hub CPU 92%, client CPU 40% of wall time`` (100% = one core)."""
        if self.seconds <= 0:
            return ""
        return (
            f"hub CPU {self.hub_cpu / self.seconds:.0%}, "
            f"client CPU {self.client_cpu / self.seconds:.0%} of wall time"
        )

    def hotspot_note(self, top: int = 4) -> str:
        """The hub functions that held most py-spy samples, e.g. ``_ingest (store/metrics) 48%``."""
        return ", ".join(f"{name} {share:.0%}" for name, share in self.hotspots[:top])


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@contextmanager
def probe(hub_pid: int | None, profile_path: Path | None = None) -> Iterator[Probe]:
    """Time the block; also measure hub and client CPU and, with ``profile_path``, run py-spy."""
    result = Probe()
    me = psutil.Process()
    hub = psutil.Process(hub_pid) if hub_pid else None
    spy = _start_py_spy(hub_pid, profile_path) if hub_pid and profile_path else None
    hub_before = _cpu_seconds(hub) if hub else 0.0
    client_before = _cpu_seconds(me)
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        result.client_cpu = _cpu_seconds(me) - client_before
        result.hub_cpu = (_cpu_seconds(hub) - hub_before) if hub else 0.0
        if spy is not None and profile_path is not None:
            _stop_py_spy(spy)
            result.hotspots = hub_hotspots(profile_path)


def _start_py_spy(pid: int, path: Path) -> subprocess.Popen[bytes] | None:
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(py_spy), "record", "-p", str(pid), "-r", "200", "--format", "raw"]
    argv += ["-o", str(path), "--nonblocking"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # let it attach before the timed work starts
    return process


def _stop_py_spy(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl+C
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def hub_hotspots(raw_profile: Path) -> list[tuple[str, float]]:
    """Share of busy samples per innermost ``hub/`` function of each stack, largest first.

    DuckDB and Arrow are C extensions, so their time lands on the hub function that called
    them: ``_ingest (hub/store/metrics.py:62)`` includes the SQL it ran; the line shown is the
    one with most samples. Stacks whose only hub frame is the server entry point are time in
    uvicorn, h11 and asyncio; stacks that leave hub code below the auth middleware are time in
    starlette and strawberry (GraphQL parsing, validation, result serialisation).
    """
    if not raw_profile.exists():
        return []
    counts: Counter[str] = Counter()
    lines: dict[str, Counter[str]] = {}
    for line in raw_profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        in_hub = [frame for frame in frames if "(hub/" in frame]
        if not in_hub:
            frame = "outside hub: " + frames[-1]
        elif in_hub[-1].startswith("_serve (hub/cli.py"):
            frame = "uvicorn/h11/asyncio event loop"
        elif in_hub[-1].startswith("AuthMiddleware.__call__") and frames[-1] != in_hub[-1]:
            frame = "starlette/strawberry code below the auth middleware"
        else:
            frame = in_hub[-1]
        function = _LINE_NUMBER.sub(")", frame)
        counts[function] += int(count)
        lines.setdefault(function, Counter())[frame] += int(count)
    total = sum(counts.values())
    return [(lines[name].most_common(1)[0][0], n / total) for name, n in counts.most_common()]


# A dashboard-like read: a project's runs with their latest metrics.
READ = '{ runs(project: "bench", first: 20) { ... on RunConnection { nodes { id metrics { key lastValue } } } } }'  # noqa: E501


@contextmanager
def reading(url: str, token: str) -> Iterator[list[float]]:
    """Dashboard-like reads (project "bench"'s runs with their metrics), one after another,
    for as long as the block lasts; their durations in seconds."""
    seconds: list[float] = []
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.post(f"{url}/graphql", json={"query": READ}).raise_for_status()
                seconds.append(time.perf_counter() - started)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        yield seconds
    finally:
        stop.set()
        reader.join()


def percentile_ms(seconds: list[float], share: float) -> float:
    """The ``share`` quantile (0.5, 0.95) of durations given in seconds, in milliseconds
    (0 when there are none)."""
    if len(seconds) < 2:
        return 1000 * seconds[0] if seconds else 0.0
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return 1000 * cuts[min(98, max(0, round(share * 100) - 1))]


def median_ms(call: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``call()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
