"""What reproducing a run needs, captured when it starts."""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def packages() -> list[str]:
    """Installed distributions as ``name==version``, sorted."""
    found = {
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    return sorted(found, key=str.lower)


def capture(cwd: Path | None = None) -> dict[str, Any]:
    """Git commit and dirty flag, command line, Python version, host and packages."""
    cwd = cwd or Path.cwd()
    commit = _git("rev-parse", "HEAD", cwd=cwd)
    dirty = None
    if commit is not None:
        status = _git("status", "--porcelain", "--untracked-files=no", cwd=cwd)
        dirty = bool(status) if status is not None else None
    return {
        "gitCommit": commit,
        "gitDirty": dirty,
        "command": shlex.join([sys.executable, *sys.argv]),
        "pythonVersion": platform.python_version(),
        "host": socket.gethostname(),
        "packages": packages(),
    }
