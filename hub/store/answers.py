"""Answers of frequent reads kept in memory, so that a team opening the same pages does not
ask the tables the same questions again and again.

Two kinds, both only in a hub that owns its DuckDB file (hubs sharing a PostgreSQL database
do not keep answers: the others change it underneath):

- :class:`Answers`, read through :class:`KeptReads`: whole answers of reads (the runs page's
  search, the params, tags and metrics of its runs, projects by name or id, and what every
  check or comment asks: memberships, people, groups, watchers), kept until the next change
  to a table they were read from. Every write transaction goes through
  :class:`~hub.store.database.Database`, which calls :meth:`Answers.changed` as it commits,
  before the writer hears of it. An answer is kept only if no change committed while it was
  being read. The audit events of reads are not changes: the reads kept here do not read the
  audit chain, so a busy hub's group commits keep the answers.
- :class:`Kept` on its own, for answers that carry their own check: a metric curve is kept
  under its series' summary (points, first and last step, last time), which every ingest
  changes, so it outlives changes to other runs.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar, cast

from hub.store.touched import EVERYTHING, Catalog, Recording, Tables

T = TypeVar("T")
FlightKey = tuple[Hashable, int, asyncio.AbstractEventLoop]  # a read, its generation, its loop

MISSING = object()  # what ``Kept.get`` says of a key it does not hold (an answer may be None)


class Kept:
    """The most recently used answers, up to ``capacity`` in weight (one each, unless
    ``keep`` says more), safe to use from any thread."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._weight = 0

    def get(self, key: Hashable) -> Any:
        """The answer kept under ``key``, or ``MISSING``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return MISSING
            self._items.move_to_end(key)
            return item[0]

    def keep(self, key: Hashable, answer: Any, weight: int = 1) -> None:
        """Keep ``answer`` under ``key``, dropping the least recently used past capacity. An
        answer heavier than the whole capacity is not kept."""
        if weight > self.capacity:
            return
        with self._lock:
            self._put(key, answer, weight)

    def _put(self, key: Hashable, answer: Any, weight: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        self._items[key] = (answer, weight)
        self._weight += weight
        while self._weight > self.capacity:
            _, (_, dropped) = self._items.popitem(last=False)
            self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> set[Hashable]:
        """The keys of the answers kept now."""
        with self._lock:
            return set(self._items)


class Answers(Kept):
    """Answers valid until a change to a table they were read from (see the module's
    docstring)."""

    def __init__(self, capacity: int = 512) -> None:
        super().__init__(capacity)
        self.generation = 0  # how many changes committed; read it before reading the tables
        self._recent: deque[tuple[int, Tables]] = deque(maxlen=256)  # changes, newest last

    def get(self, key: Hashable) -> Any:
        found = super().get(key)
        return found if found is MISSING else found[0]

    def changed(self, tables: Tables = EVERYTHING) -> None:
        """A change to ``tables`` committed: every answer read from one of them may be out of
        date."""
        with self._lock:
            self.generation += 1
            self._recent.append((self.generation, tables))
            if tables is EVERYTHING:
                self._items.clear()
                self._weight = 0
                return
            for key, ((_, read), weight) in list(self._items.items()):
                if read is EVERYTHING or read & tables:
                    del self._items[key]
                    self._weight -= weight

    def keep_read(self, key: Hashable, generation: int, answer: Any, read: Tables) -> None:
        """Keep an answer read from the tables ``read`` after ``generation`` was current,
        unless a change to one of them committed since (the answer may then be from before or
        after it)."""
        with self._lock:
            since = [tables for number, tables in self._recent if number > generation]
            if len(since) < self.generation - generation:  # older than the changes remembered
                return
            if any(t is EVERYTHING or read is EVERYTHING or read & t for t in since):
                return
            self._put(key, (answer, read), 1)


class KeptReads:
    """Reads answered from :class:`Answers` where they can be. ``read`` is the database's own
    (a function of the cursor and arguments, run on a worker thread); the same read asked
    again while it is under way waits for it rather than reading too."""

    def __init__(self, read: Callable[..., Coroutine[Any, Any, Any]]) -> None:
        self.answers = Answers()
        self.catalog = Catalog()  # the database's tables, once it has been looked at
        # How kept reads were answered: from memory, by a read under way, by reading.
        self.counts = {"kept": 0, "joined": 0, "read": 0}
        self._read = read
        self._flights: dict[FlightKey, asyncio.Task[Any]] = {}  # reads under way

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)``'s answer, kept under ``fn`` and the ``repr`` of its arguments.
        Only for reads whose answer depends on the tables' rows alone (no clock, no closure:
        ``fn`` must be a plain function, its arguments saying everything in their ``repr``)."""
        if getattr(fn, "__closure__", None) is not None:
            raise TypeError(f"{fn.__qualname__} closes over variables its key would not hold")
        key = (fn, repr(args))
        generation = self.answers.generation  # before reading: a change after it is seen
        found = self.answers.get(key)
        if found is not MISSING:
            self.counts["kept"] += 1
            return _fresh(cast(T, found))
        loop = asyncio.get_running_loop()
        flight_key = (key, generation, loop)
        flight = self._flights.get(flight_key)
        if flight is None:
            self.counts["read"] += 1
            reading = self._read(_recorded, self.catalog, fn, args)
            flight = self._flights[flight_key] = loop.create_task(reading)
            flight.add_done_callback(functools.partial(self._landed, flight_key))
        else:
            self.counts["joined"] += 1
        # Shielded: one caller going away (its client hung up) does not cancel the others'.
        answer, _ = await asyncio.shield(flight)
        return _fresh(cast(T, answer))

    def _landed(self, flight_key: FlightKey, flight: asyncio.Task[Any]) -> None:
        del self._flights[flight_key]
        if not flight.cancelled() and flight.exception() is None:
            key, generation, _ = flight_key
            self.answers.keep_read(key, generation, *flight.result())


def _recorded(cursor: Any, catalog: Catalog, fn: Callable[..., T], args: Any) -> tuple[T, Tables]:
    """``fn(cursor, *args)``'s answer and the tables it read."""
    recording = Recording(cursor, catalog)
    return fn(recording, *args), recording.read


def _fresh(answer: T) -> T:
    """A kept list or dict as a copy of its own, which its caller may change (the records in
    it are frozen)."""
    if isinstance(answer, list | dict):
        return answer.copy()  # type: ignore[return-value]
    return answer
