"""Locks whose holder gets the GIL back promptly.

Python lets one thread run at a time. A thread that wants to run again (back from DuckDB,
which lets go of the GIL while it works) asks for it, and the running thread is made to let
go only after ``sys.getswitchinterval()`` (5 ms by default). A change's transaction is a dozen
DuckDB statements or more, each such a wait, with the write lock held all along: under 50
readers, whose requests keep the GIL busy, a run's batch of a few milliseconds of work held
the lock for 100-200 ms now and then, and every change that came meanwhile waited behind it
(a comment 116 ms at the median; ``bench/RESULTS.md``).

While a :class:`PromptLock` is held, by any thread, every thread switches at most every
``PROMPT`` seconds instead: the holder waits less for the GIL after each statement, and the
lock is let go sooner. The interval is the process's, so it is counted over every lock held
and put back as it was once none is.

It is a trade: the readers' threads switch more often too while a change is written. At 50
readers + 5 writers, writes came 40-50 % more often and a third sooner, reads 5-13 % fewer; with
40 writers, whose changes hold the lock nearly all the time, reads 8-30 % fewer.
"""

from __future__ import annotations

import os
import sys
import threading

PROMPT = 0.0005  # seconds between switches while a lock is held

_counting = threading.Lock()
_held = 0  # prompt locks held now, in the whole process
_usual = sys.getswitchinterval()  # the interval to put back once none is


def _switch_promptly() -> None:
    global _held, _usual
    with _counting:
        if _held == 0:
            _usual = sys.getswitchinterval()
            sys.setswitchinterval(PROMPT)
        _held += 1


def _switch_as_usual() -> None:
    global _held
    with _counting:
        _held -= 1
        if _held == 0:
            sys.setswitchinterval(_usual)


def _forget_holders() -> None:
    """In a child forked from a hub: the threads that held locks are not there to let go."""
    global _held, _counting
    _held, _counting = 0, threading.Lock()
    sys.setswitchinterval(_usual)


os.register_at_fork(after_in_child=_forget_holders)


class PromptLock:
    """A ``threading.Lock`` (``with lock:``, ``acquire``, ``release``) during whose holding
    threads switch every ``PROMPT`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        taken = self._lock.acquire(blocking, timeout)
        if taken:
            _switch_promptly()
        return taken

    def release(self) -> None:
        _switch_as_usual()
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
