"""The store's write lock, which also makes the GIL change hands sooner while it is held.

Every DuckDB call lets go of the GIL while DuckDB works and takes it back after, two or three
times a statement. While the event loop's thread runs Python (a busy hub's GraphQL), taking it
back waits for Python's switch interval, 5 ms: a statement that DuckDB runs in 0.3 ms took 11
ms, and a change's transaction of a dozen statements held the write lock 90-110 ms at 50
readers and 5 writers, every other change waiting behind it (``bench/RESULTS.md``). While a
change holds the lock, the interval is 0.5 ms, so its statements get the GIL back about ten
times sooner; the rest of the time it stays as it was, since switching more often costs a busy
hub's readers throughput. One change at a time holds the lock, so each puts back what it found.
"""

from __future__ import annotations

import sys
import threading

WRITING_SWITCH_INTERVAL = 0.0005  # seconds, while a change holds the write lock


class WriteLock:
    """A lock for ``with``: one holder at a time, the switch interval short while held."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found = sys.getswitchinterval()

    def __enter__(self) -> None:
        self._lock.acquire()
        self._found = sys.getswitchinterval()
        sys.setswitchinterval(min(self._found, WRITING_SWITCH_INTERVAL))

    def __exit__(self, *exc: object) -> None:
        sys.setswitchinterval(self._found)
        self._lock.release()
