"""``python -m bench.backup``: a backup of a serving hub holding 5 million points, and what it
costs the people reading meanwhile: the backup's time, and the p95 of a dashboard-like read
(the project's runs with their metrics) during the backup against without one.

No other tool backs up a live tracking server (MLflow's answer is to copy its database with the
server's own tools), so Salon is measured against itself: reads with and without a backup.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import numpy as np

import hub
from bench.measure import percentile_ms, reading
from bench.servers import start_salon

WORK = Path(__file__).resolve().parent / ".work" / "backup"
POINTS = 5_000_000
KEYS = ("loss", "acc", "lr", "grad_norm", "throughput")


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    server, token = start_salon(WORK)
    with server:
        server.wait_healthy()
        steps = POINTS // len(KEYS)
        rng = np.random.default_rng(0)
        run = hub.init(
            project="bench",
            experiment="backup",
            url=server.url,
            token=token,
            capture_environment=False,
        )
        for start in range(0, steps, 100_000):
            stop = min(steps, start + 100_000)
            run.log_columns(np.arange(start, stop), {k: rng.random(stop - start) for k in KEYS})
        run.finish()

        with reading(server.url, token) as quiet:
            time.sleep(10)

        with reading(server.url, token) as busy:
            started = time.perf_counter()
            answer = httpx.post(
                f"{server.url}/api/v1/backups",
                json={"destination": str(WORK / "copy")},
                headers={"Authorization": f"Bearer {token}"},
                timeout=None,
            )
            took = time.perf_counter() - started
        answer.raise_for_status()
        made = answer.json()
    size = made["database_bytes"] / 1e6
    print(f"backup of {POINTS:,} points: {took:.1f} s, database {size:.0f} MB")
    calm, loaded = percentile_ms(quiet, 0.95), percentile_ms(busy, 0.95)
    print(f"reads without a backup: p95 {calm:.1f} ms over {len(quiet)} reads")
    print(
        f"reads during the backup: p95 {loaded:.1f} ms over {len(busy)} reads "
        f"({loaded / calm:.2f}x)"
    )


if __name__ == "__main__":
    main()
