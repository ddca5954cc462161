"""A test run stopped with SIGTERM stops what its tests started (``tests/terminate.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

# A test whose fixture starts a process in a session of its own, as the suite's servers are,
# and stops it in its finalizer; the test itself waits to be interrupted.
SERVER_TEST = """
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def server():
    process = subprocess.Popen(["sleep", "600"], start_new_session=True)
    Path("server.pid").write_text(str(process.pid))
    yield process
    process.terminate()
    process.wait()
    Path("stopped").write_text("yes")


def test_waits(server):
    import time

    Path("waiting").write_text("yes")
    time.sleep(300)
"""


def terminated_run(folder: Path, *plugins: str) -> tuple[int, int]:
    """Runs SERVER_TEST in ``folder`` with ``plugins``, sends SIGTERM once its server is up;
    the exit status and the server's pid."""
    folder.mkdir()
    (folder / "test_server.py").write_text(SERVER_TEST)
    loaded = [arg for plugin in plugins for arg in ("-p", plugin)]
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *loaded],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not (folder / "waiting").exists():  # the server up, the test under way
        assert run.poll() is None, run.communicate()[0].decode()
        assert time.monotonic() < deadline, "the test never started"
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    try:
        run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        run.kill()
        raise AssertionError(f"no end after SIGTERM: {run.communicate()[0].decode()}") from None
    return run.returncode, int((folder / "server.pid").read_text())


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_terminated_run_stops_the_servers_its_tests_started(tmp_path: Path) -> None:
    status, server = terminated_run(tmp_path / "with", "tests.terminate")
    assert status == 2, "pytest's status for an interrupted run"
    assert not alive(server)
    assert (tmp_path / "with" / "stopped").read_text() == "yes"

    # Without the plugin, the same run dies at once and its server stays.
    status, server = terminated_run(tmp_path / "without")
    try:
        assert status == -signal.SIGTERM
        assert alive(server) and not (tmp_path / "without" / "stopped").exists()
    finally:
        os.kill(server, signal.SIGKILL)
