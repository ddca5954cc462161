"""A Ray cluster on this machine for `salon up` (and the tests): one head on 127.0.0.1 with
logical GPUs, started as ``ray start --head --block`` so that stopping that one process stops
the whole cluster."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


RAY_PORTS = (
    "ray-client-server-port",
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "metrics-export-port",
    "runtime-env-agent-port",
    "node-manager-port",
    "object-manager-port",
)


@dataclasses.dataclass
class LocalRay:
    dashboard: str  # the address the hub samples and submits to
    process: subprocess.Popen[bytes]
    temp_dir: Path
    gpus: int
    log: Path
    gcs: str = ""  # host:port for drivers (ray.init(address=...))
    token: str = ""  # Ray's token authentication: every call to the cluster must carry it

    @property
    def driver_env(self) -> dict[str, str]:
        """What a driver's environment needs to join this cluster (``ray.init(address=...)``)."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def stop(self, seconds: float = 10) -> None:
        """Stop the cluster: stop the jobs still running on it, ask its head to stop
        everything, then kill whatever of it is still running after ``seconds``."""
        import psutil

        if self.process.poll() is not None:
            # the head ended by itself: what it had started is still in its process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            return
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        self._stop_jobs(seconds)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(family, timeout=10)

    def _stop_jobs(self, seconds: float) -> None:
        """Stop the submitted jobs still running, through Ray's Jobs API, and wait up to
        ``seconds`` for them to end. Each job's supervisor ends its processes at once (Ray
        gives them 3 s after SIGTERM); left running, they held the head's own stop for half a
        minute. A head that does not answer is stopped below anyway."""
        from connectors.base import ConnectorError
        from connectors.ray import RayCluster

        cluster = RayCluster(self.dashboard, self.token)

        def running() -> set[str]:
            return {
                job.submission_id for job in cluster.jobs() if job.submitted and not job.finished
            }

        deadline = time.monotonic() + seconds
        try:
            asked = running()
            for submission_id in asked:
                cluster.stop(submission_id)
            while asked and time.monotonic() < deadline:
                time.sleep(0.2)
                asked &= running()
        except ConnectorError:
            pass
        finally:
            cluster.close()


def start(
    gpus: int = 4,
    temp_dir: Path | None = None,
    dashboard_port: int | None = None,
    cpus: int = 2,
    seconds: float = 120,
    token: str | None = None,
    attempts: int = 3,
) -> LocalRay:
    """Start a head node and wait until its dashboard answers; raise RuntimeError with the
    end of Ray's log if it does not. Ray's sockets live under ``temp_dir``, whose path must be
    short (default: a new folder in /tmp).

    A head that stops by itself while starting is started again on new ports, up to
    ``attempts`` times: on a busy machine another process can take one of the free ports
    between the moment they are chosen and the moment Ray binds them.

    Ray's GCS, raylet and agents listen on every interface whatever the node's address (Ray
    has no setting for it), so the head runs with Ray's token authentication and a new token:
    whoever reaches those ports from elsewhere is refused without it (``token``: the one to
    keep when a head is started again)."""
    folder = temp_dir or Path(tempfile.mkdtemp(prefix="salon-ray-", dir="/tmp"))
    folder.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_urlsafe(32)
    deadline = time.monotonic() + seconds
    for attempt in range(1, attempts + 1):
        head = _launch(folder, gpus, cpus, dashboard_port or free_port(), token)
        try:
            answered = _wait_for_dashboard(head, deadline)
        except BaseException:  # stopped while starting (Ctrl+C, SIGTERM): leave nothing running
            remove(head)
            raise
        if answered:
            return head
        if head.process.poll() is None:
            head.stop()
            ended = head.log.read_text()[-2000:]
            raise RuntimeError(f"Ray's dashboard did not answer in {seconds:.0f} s:\n{ended}")
        if attempt == attempts or time.monotonic() >= deadline:
            break
        head.stop()
        with head.log.open("a") as log:
            again = f"starting it again ({attempt + 1}/{attempts})"
            log.write(f"\n[salon] Ray's head stopped while starting; {again}\n")
    ended = head.log.read_text()[-2000:]
    remove(head)
    raise RuntimeError(f"Ray's head node stopped:\n{ended}")


def _launch(folder: Path, gpus: int, cpus: int, dashboard_port: int, token: str) -> LocalRay:
    """``ray start --head --block`` with every port a free one, its output in ``ray.log``."""
    log = folder / "ray.log"
    gcs_port = free_port()
    ray = Path(sys.executable).parent / "ray"
    # Every port Ray would otherwise take at a fixed default (client server 10001, agent 52365,
    # metrics, ...) is a free one, so that another Ray on this machine does not take our jobs.
    ports = [f"--{name}={free_port()}" for name in RAY_PORTS]
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    env.pop("RAY_AUTH_TOKEN_PATH", None)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                str(ray),
                "start",
                "--head",
                "--block",
                "--node-ip-address",
                "127.0.0.1",
                "--num-gpus",
                str(gpus),
                "--num-cpus",
                str(cpus),
                "--port",
                str(gcs_port),
                "--dashboard-host",
                "127.0.0.1",
                "--dashboard-port",
                str(dashboard_port),
                *ports,
                "--include-dashboard",
                "true",
                "--disable-usage-stats",
                "--temp-dir",
                str(folder / "ray"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    return LocalRay(
        f"http://127.0.0.1:{dashboard_port}",
        process,
        folder,
        gpus,
        log,
        f"127.0.0.1:{gcs_port}",
        token,
    )


def _wait_for_dashboard(head: LocalRay, deadline: float) -> bool:
    """True once the head's dashboard answers and lists the head node alive (the node
    registers a few seconds after the dashboard answers; until then jobs and GPUs are not
    there); False if the head stops or ``deadline`` passes first."""
    signed = {"Authorization": f"Bearer {head.token}"}
    while time.monotonic() < deadline:
        if head.process.poll() is not None:
            return False
        try:
            answer = httpx.get(f"{head.dashboard}/api/v0/nodes", headers=signed, timeout=2)
            if answer.status_code == 200 and _alive(answer.json()):
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return False


def _alive(nodes: Any) -> bool:
    try:
        return any(row.get("state") == "ALIVE" for row in nodes["data"]["result"]["result"])
    except (KeyError, TypeError, AttributeError):
        return False


def remove(head: LocalRay) -> None:
    head.stop()
    shutil.rmtree(head.temp_dir, ignore_errors=True)
