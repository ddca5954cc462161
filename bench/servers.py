"""Start and stop the two servers under test: a Salon hub and an MLflow tracking server.

Each runs as a subprocess in its own process group, bound to 127.0.0.1 on a free port, with
its data in a fresh folder under ``bench/.work/``. :class:`Server` is a context manager; leaving
it (normally, on an exception or on Ctrl+C) stops the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from hub.cli.up import streamlit_command

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MLFLOW_VENV = BENCH_DIR / ".mlflow-venv"
# The full mlflow package pins an old graphql-core, so it cannot live in Salon's venv; the
# client side uses mlflow-skinny from the main venv, and the server must be the same major.
MLFLOW_REQUIREMENT = "mlflow>=3,<4"
MLFLOW2_VENV = BENCH_DIR / ".mlflow2-venv"
MLFLOW2_REQUIREMENT = "mlflow-skinny>=2.22,<3"


class ServerError(RuntimeError):
    """A server did not start; the message says which and where its log is."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running server process group, its URL and its log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    health_path: str
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_healthy(self, timeout: float = 180.0) -> None:
        """Return once the health endpoint answers 200; raise if the process dies or stalls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode} while starting; "
                    f"see {self.log_path}"
                )
            try:
                if httpx.get(self.url + self.health_path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServerError(f"{self.name} not healthy after {timeout:.0f} s; see {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.process.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        # Children (uvicorn workers, job runners) may outlive the leader; sweep the group.
        _signal_group(self.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _launch(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, url: str, health: str
) -> Server:
    """Start ``argv`` in its own session, so that a terminal's Ctrl+C reaches only us.

    Returns at once; call :meth:`Server.wait_healthy` before using it.
    """
    log_path = workdir / f"{name.lower()}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Server(name, url, process, log_path, health, log)


def start_salon(workdir: Path, token: str | None = None, **settings: str) -> tuple[Server, str]:
    """Start a hub on an empty data dir under ``workdir``, with ``token`` (default: a new one)
    as its admin token and ``settings`` (``SALON_*`` variables) on top; returns it and the
    token."""
    data_dir = workdir / "salon"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    token = token or "bench-" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "SALON_DATA_DIR": str(data_dir),
        "SALON_HOST": "127.0.0.1",
        "SALON_PORT": str(port),
        "SALON_ADMIN_TOKEN": token,
        "SALON_LOG_LEVEL": "warning",
        **settings,
    }
    salon = Path(sys.executable).parent / "salon"
    url = f"http://127.0.0.1:{port}"
    return _launch("Salon", [str(salon), "serve"], env, workdir, url, "/healthz"), token


def start_dashboard(workdir: Path, hub_url: str, token: str) -> Server:
    """``streamlit run dashboard/app.py``, as ``salon up`` runs it, against the hub at
    ``hub_url``, signed in with ``token``."""
    port = free_port()
    argv = streamlit_command(BENCH_DIR.parent / "dashboard" / "app.py", "127.0.0.1", port)
    env = {**os.environ, "SALON_URL": hub_url, "SALON_TOKEN": token}
    url = f"http://127.0.0.1:{port}"
    return _launch("Dashboard", argv, env, workdir, url, "/_stcore/health")


def _ensure_venv(folder: Path, requirement: str, command: str, quiet: bool) -> Path:
    """Path of ``command`` in the venv ``folder``, made with ``requirement`` on first use and
    compiled to bytecode: where Python may not write it, each server would compile MLflow
    again (an MLflow server took 15 s to start instead of 7)."""
    found = folder / "bin" / command
    python = folder / "bin" / "python"
    compiled = folder / ".compiled"
    if not found.exists():
        print(f"Creating {folder} with {requirement} (first run only)…", file=sys.stderr)
        flag = ["-q"] if quiet else []
        subprocess.run(["python3", "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", *flag, "uv"], check=True)
        uv = str(folder / "bin" / "uv")
        install = [uv, "pip", "install", *flag, "--compile-bytecode", "--python", str(python)]
        subprocess.run([*install, requirement], check=True)
        compiled.touch()
    elif not compiled.exists():  # made before venvs were compiled
        print(f"Compiling {folder} to bytecode (once)…", file=sys.stderr)
        compile_all = [str(python), "-m", "compileall", "-q", "-j", "0", str(folder / "lib")]
        # a file that does not compile (some packages ship such test data) only stays slow
        subprocess.run(compile_all, check=False, stdout=subprocess.DEVNULL)
        compiled.touch()
    return found


def ensure_mlflow_venv(quiet: bool = True) -> Path:
    """Path of the ``mlflow`` command in bench/.mlflow-venv, creating the venv on first use."""
    return _ensure_venv(MLFLOW_VENV, MLFLOW_REQUIREMENT, "mlflow", quiet)


def ensure_mlflow2_venv(quiet: bool = True) -> Path:
    """Path of the Python of bench/.mlflow2-venv, which holds the last MLflow 2 client (teams
    that have not moved to MLflow 3 log with it), creating the venv on first use."""
    return _ensure_venv(MLFLOW2_VENV, MLFLOW2_REQUIREMENT, "mlflow", quiet).with_name("python")


def start_mlflow(workdir: Path, proxied: bool = False) -> Server:
    """Start an MLflow tracking server (one worker, SQLite) with its data under ``workdir``;
    ``proxied``: it keeps artifacts itself (``mlflow-artifacts:/`` URIs, under
    ``workdir/mlflow/mlartifacts``), as a team's server usually does."""
    mlflow = ensure_mlflow_venv()
    data_dir = workdir / "mlflow"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        # The job runner starts seven huey consumers that busy-loop for a while at start-up and
        # only serve GenAI features; on two cores they would slow the tracking server down.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    argv = [
        str(mlflow),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{data_dir / 'mlflow.db'}",
        *(
            ["--artifacts-destination", str(data_dir / "mlartifacts")]
            if proxied
            else ["--default-artifact-root", str(data_dir / "artifacts")]
        ),
        "--workers",
        "1",
    ]
    return _launch("MLflow", argv, env, data_dir, f"http://127.0.0.1:{port}", "/health")
