"""Changes that wait for the write lock, committed together by whichever of them gets it.

A change's transaction holds the write lock for its work, its audit events, its activity
entries and its commit. On a busy hub most of that time is not DuckDB's: after each statement
the writing thread waits to get the GIL back from the threads serving reads, so a comment or a
run's batch of a few statements held the lock 64-65 ms (p50) under 50 readers, and the changes
behind it waited (``bench/RESULTS.md``). Changes that arrive while one is being written wait
here instead of each in turn at the lock; the next one to lead takes all of them, up to
``LIMIT``, into one transaction (see ``Database._changes_together``): one begin, one append of
the group's audit events and one of its activity entries, one commit. Every caller still
returns only once its own change has committed, or with what its own change raised.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from hub.store.prompt_switches import PromptLock

T = TypeVar("T")

LIMIT = 64  # changes in one transaction at most


@dataclasses.dataclass(eq=False, slots=True)
class Change(Generic[T]):
    """One caller's change: ``work(cursor)`` and the events it records (or a function of what
    ``work`` returned that gives them), then what came of it."""

    work: Callable[[Any], T]
    events: Sequence[Any] | Callable[[T], Sequence[Any]]
    result: T | None = None
    failed: BaseException | None = None
    settled: bool = False

    def events_for(self, result: T) -> Sequence[Any]:
        return self.events(result) if callable(self.events) else self.events

    def succeeded(self, result: T) -> None:
        self.result, self.failed, self.settled = result, None, True

    def raised(self, exc: BaseException) -> None:
        self.result, self.failed, self.settled = None, exc, True

    def outcome(self) -> T:
        if self.failed is not None:
            raise self.failed
        return self.result  # type: ignore[return-value]


class ChangeGroups:
    """``run(change)``: the change committed, in a group with those waiting beside it.

    ``commit(group)`` is called with the write lock held, settles every change of the group
    and returns how many transactions it committed (a change it leaves unsettled is settled
    with what it raised)."""

    def __init__(self, lock: PromptLock, commit: Callable[[list[Change[Any]]], int]) -> None:
        self._lock = lock
        self._commit = commit
        self._turns = threading.Condition()
        self._waiting: list[Change[Any]] = []
        self._leading = False  # a caller is taking groups to the lock
        self.changes = 0  # committed so far
        self.transactions = 0  # the transactions they were committed in

    def run(self, change: Change[T]) -> T:
        with self._turns:
            self._waiting.append(change)
            while self._leading and not change.settled:
                self._turns.wait()
            if change.settled:  # a leader took it along
                return change.outcome()
            self._leading = True
        try:
            while not change.settled:
                with self._lock:
                    with self._turns:  # everyone who came while the lock was busy
                        group = self._waiting[:LIMIT]
                        del self._waiting[:LIMIT]
                    self._settle(group)
        finally:
            with self._turns:
                self._leading = False
                self._turns.notify_all()
        return change.outcome()

    def _settle(self, group: list[Change[Any]]) -> None:
        try:
            self.transactions += self._commit(group)
        except BaseException as exc:
            for change in group:
                if not change.settled:
                    change.raised(exc)
        self.changes += sum(change.failed is None for change in group)
