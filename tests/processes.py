"""Starting and stopping the real processes tests talk to (hub, dashboard, sign-in provider)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from hub.cli.up import streamlit_command


def wait_until_up(
    url: str, process: subprocess.Popen[Any], seconds: float = 90, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers 200; fail with the process's output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text()[-3000:] if log else process.communicate()[0]
            raise AssertionError(f"the process behind {url} exited:\n{output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def python_prints(script: str) -> str:
    """What a Python process of its own prints running ``script``: for what would change the
    process the tests run in (its garbage collector, what it has imported)."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def stop(process: subprocess.Popen[Any], seconds: float = 15) -> None:
    """Terminate, then kill if it does not go."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def eventually(check: Callable[[], Any], seconds: float = 30, pause: float = 0.1) -> Any:
    """``check()``'s first truthy answer, asked every ``pause`` seconds; fails after
    ``seconds`` (a bound for a test that would otherwise hang, never a speed assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(pause)


@contextlib.contextmanager
def streamlit(entry: Path, port: int, env: dict[str, str], log: Path, cwd: Path) -> Iterator[str]:
    """``streamlit run ENTRY`` on 127.0.0.1:PORT, as ``salon up`` runs it, until the block
    ends; yields the dashboard's address once it answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            streamlit_command(entry, "127.0.0.1", port),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", process, seconds=60, log=log)
        yield url
    finally:
        stop(process)
