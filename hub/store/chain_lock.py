"""The audit chain's lock, which a change waiting for it takes before the next group of reads.

A change takes the chain's lock while it holds the write lock, so while it waits there the next
change waits too. The audit events of reads are appended by one thread, group after group
(``group_commit``), and a thread that lets go of a lock and asks for it again usually has it
back before a waiting thread wakes: a change could wait behind several groups in a row. So a
group starts only while no change is waiting, and a change waits at most for the group under
way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hub.store.prompt_switches import PromptLock


class ChainLock:
    """A lock (``with chain:``) with two more doors: ``for_change()`` and ``for_reads()``."""

    def __init__(self) -> None:
        self._lock = PromptLock()  # its holder switches promptly (see prompt_switches)
        self._turns = threading.Condition()
        self._changes = 0  # changes waiting for the lock

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @contextmanager
    def for_change(self) -> Iterator[None]:
        """The lock, before any group of reads that has not started."""
        with self._turns:
            self._changes += 1
        try:
            self._lock.acquire()
        finally:
            with self._turns:
                self._changes -= 1
                if not self._changes:
                    self._turns.notify_all()
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def for_reads(self) -> Iterator[None]:
        """The lock, once no change is waiting for it."""
        while True:
            with self._turns:
                self._turns.wait_for(lambda: not self._changes)
            self._lock.acquire()  # never while holding _turns: a change takes both in turn
            with self._turns:
                if not self._changes:
                    break
            self._lock.release()  # a change came meanwhile: it goes first
        try:
            yield
        finally:
            self._lock.release()
