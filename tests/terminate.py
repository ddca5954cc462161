"""A pytest plugin (``tests/conftest.py`` loads it): SIGTERM ends a run as Ctrl+C does.

pytest stops on Ctrl+C by raising KeyboardInterrupt, and the fixtures' finalizers then stop
what the tests started. SIGTERM (``kill``, a time limit) killed the process at once instead,
and the servers the tests start in sessions of their own (the suite's PostgreSQL cluster, an
MLflow server) outlived the run.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pytest_configure() -> None:
    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        signal.signal(signal.SIGTERM, _interrupt)
