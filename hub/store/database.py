"""The one object that owns the DuckDB file.

DuckDB lets one process hold a file read-write, so the hub is the only door to it. Inside the
hub every query runs on a worker thread with that thread's own cursor, never on the event loop.
Writes are serialised through one lock: DuckDB appends are fast, and a single writer removes
optimistic-concurrency conflicts between concurrent ingest batches updating the same summaries.

Every change goes through :meth:`Database.audited_write`, which appends its audit events to the
hash chain inside the same transaction: a committed change always has its events, a rolled
back one never does, and a crash cannot leave one without the other.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb

from hub import __version__
from hub.clock import now
from hub.domain.audit import AuditDraft, EventDraft
from hub.domain.collaboration import ActivityDraft, ActivityRecord
from hub.errors import LimitExceeded, StoreUnavailable
from hub.store import activity, audit, migrations
from hub.store.remote import S3Access, httpfs_extension

P = ParamSpec("P")
T = TypeVar("T")
Cursor = duckdb.DuckDBPyConnection


@dataclasses.dataclass(frozen=True, slots=True)
class Committed:
    """What one committed change recorded: its audit events and its activity entries."""

    trail: tuple[AuditDraft, ...]
    entries: tuple[ActivityRecord, ...]


class Database:
    """A DuckDB file, a pool of worker threads and one cursor per thread."""

    def __init__(
        self,
        path: Path,
        *,
        memory_limit: str = "768MB",
        threads: int = 2,
        s3: S3Access | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.memory_limit = memory_limit
        try:
            self._connection = duckdb.connect(
                str(path),
                config={
                    "memory_limit": memory_limit,
                    "threads": threads,
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    # DuckDB's bundled jemalloc returns freed pages to the OS only as it decays
                    # them, and without its background threads decay runs only when the same
                    # arena allocates again: after a big read an idle hub kept hundreds of MB.
                    "allocator_background_threads": True,
                },
            )
        except duckdb.IOException as exc:
            raise StoreUnavailable(
                f"Cannot open {path}: {exc}. Is a hub already running on this data directory? "
                "Stop it first, or set SALON_DATA_DIR to another folder."
            ) from None
        if s3 is not None:  # data registered in S3 is read where it lies
            self._connection.execute(f"LOAD '{httpfs_extension()}'")
            self._connection.execute(s3.duckdb_secret())
        self._local = threading.local()
        self._cursors: list[Cursor] = []
        self._cursors_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._head = audit.Head()
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="salon-db")
        self._closed = False
        # Called with what each change recorded, once it has committed (live updates, webhooks).
        self.listeners: list[Callable[[Committed], None]] = []

    def apply_schema(self, *, auto_migrate: bool = True) -> list[migrations.Migration]:
        """Bring the file to this Salon's schema (see ``migrations``; with ``auto_migrate``
        false, pending migrations are refused), then run the every-start scripts."""
        applied = migrations.upgrade(self._connection, self.path, __version__, allowed=auto_migrate)
        for sql_file in migrations.known()[1]:
            self._connection.execute(sql_file.read_text())
        # Fold whatever the write-ahead log replayed (after a crash) into the file now, with
        # the indexes just rebuilt (see 900_indexes.sql).
        self._connection.execute("CHECKPOINT")
        with self._write_lock:
            self._head = audit.load_head(self._connection)
        return applied

    def _cursor(self) -> Cursor:
        cursor: Cursor | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
            with self._cursors_lock:
                self._cursors.append(cursor)
        return cursor

    def read_sync(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` on the calling thread's cursor. A read that needs more
        memory than the hub's limit is refused as too large (it was an unexpected error)."""
        try:
            return fn(self._cursor(), *args, **kwargs)
        except duckdb.OutOfMemoryException:
            raise LimitExceeded(
                f"This needed more memory than the hub gives a request ({self.memory_limit}); "
                "ask for less (filter, or fewer rows or columns), or raise "
                "SALON_DUCKDB_MEMORY_LIMIT."
            ) from None

    def write_sync(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` in one transaction, serialised with every other write."""
        with self._write_lock, self._transaction() as cursor:
            return fn(cursor, *args, **kwargs)

    def audited_write_sync(
        self,
        events: Sequence[EventDraft] | Callable[[T], Sequence[EventDraft]],
        fn: Callable[Concatenate[Cursor, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(cursor, ...)`` and append ``events`` in one transaction: audit events to
        the hash chain, activity entries to the feed and the inboxes they reach. ``events`` may
        be a function of ``fn``'s result, for events that depend on what the change did."""
        with self._write_lock:
            at = now()
            with self._transaction() as cursor:
                result = fn(cursor, *args, **kwargs)
                chosen = events(result) if callable(events) else events
                trail = [e for e in chosen if isinstance(e, AuditDraft)]
                head = audit.append(cursor, self._head, trail, at)
                drafts = [e for e in chosen if isinstance(e, ActivityDraft)]
                entries = activity.append(cursor, drafts, at)
            self._head = head  # only once committed
        if self.listeners and (trail or entries):
            committed = Committed(tuple(trail), tuple(entries))
            for listener in list(self.listeners):  # after commit, outside the lock
                listener(committed)
        return result

    async def audited_write(
        self,
        events: Sequence[EventDraft] | Callable[[T], Sequence[EventDraft]],
        fn: Callable[Concatenate[Cursor, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """:meth:`audited_write_sync` on a worker thread."""
        call = functools.partial(self.audited_write_sync, events, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def record(self, events: Sequence[AuditDraft]) -> None:
        """Append audit events that accompany no change: reads, denials, errors."""
        await self.audited_write(events, _nothing)

    @property
    def audit_head(self) -> tuple[int, str]:
        """The last committed event's sequence number and hash."""
        with self._write_lock:
            return self._head.seq, self._head.hash

    async def read(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` on a worker thread."""
        call = functools.partial(self.read_sync, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def write(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` as one serialised transaction on a worker thread."""
        call = functools.partial(self.write_sync, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def stream(
        self,
        fn: Callable[Concatenate[Cursor, P], Iterator[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> AsyncIterator[T]:
        """Items of the generator ``fn(cursor, ...)``, produced on a worker thread a few at a
        time, so a large result never sits whole in memory. If the consumer stops early
        (a client went away), the producer stops within half a second."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=2)
        stop = threading.Event()

        def put(item: tuple[str, Any]) -> bool:
            while not stop.is_set():
                future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
                try:
                    future.result(timeout=0.5)
                    return True
                except concurrent.futures.TimeoutError:
                    future.cancel()
            return False

        def produce() -> None:
            try:
                for item in fn(self._cursor(), *args, **kwargs):
                    if not put(("item", item)):
                        return
            except Exception as exc:
                put(("error", exc))
                return
            put(("end", None))

        producer = loop.run_in_executor(self._executor, produce)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    break
                if kind == "error":
                    raise value
                yield value
        finally:
            stop.set()
            await producer

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        cursor = self._cursor()
        cursor.execute("BEGIN TRANSACTION")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def close(self) -> None:
        """Finish pending work and release the file."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._cursors_lock:
            for cursor in self._cursors:
                cursor.close()
        self._connection.close()


def _nothing(cursor: Cursor) -> None:
    return None
