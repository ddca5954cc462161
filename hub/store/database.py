"""The one object that owns the hub's connection to its tables (see ``backends``: a DuckDB file
of its own, or a PostgreSQL database shared with other hubs).

DuckDB lets one process hold a file read-write, so the hub is the only door to it. Inside the
hub every query runs on a worker thread with that thread's own cursor, never on the event loop.
Writes are serialised through one lock: DuckDB appends are fast, and a single writer removes
optimistic-concurrency conflicts between concurrent ingest batches updating the same summaries.
On PostgreSQL the hubs also take turns across processes (an advisory lock, see ``backends``).

Every change goes through :meth:`Database.audited_write`, which appends its audit events to the
hash chain inside the same transaction: a committed change always has its events, a rolled
back one never does, and a crash cannot leave one without the other.

The chain itself has a lock of its own, held from the moment a transaction appends to it until
that transaction has committed, so that events are committed in the order of their numbers. A
change takes it only for its last step; the audit events of reads (which change nothing) take
only it, in their own transaction, so a read never waits for a change's work, only for the
append and commit of the change ahead of it (see :meth:`Database.record`).

Changes that arrive while another is being written wait together and are committed in one
transaction (``change_groups``). A hub that owns its file keeps the answers of frequent reads in
memory (``read_kept``, see ``answers``) and drops them as each change commits. Where metric
points are written is ``point_storage``'s part of the class.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import duckdb

from hub import __version__
from hub.clock import now
from hub.domain.audit import AuditDraft, EventDraft
from hub.domain.collaboration import ActivityDraft, ActivityRecord
from hub.errors import LimitExceeded, StoreUnavailable
from hub.priority import changing
from hub.store import activity, audit, commits, migrations
from hub.store.answers import Answers, KeptReads
from hub.store.backends import CATALOG, Backend, Embedded, Shared, committed
from hub.store.chain_lock import ChainLock
from hub.store.change_groups import Change, ChangeGroups
from hub.store.group_commit import GroupCommit
from hub.store.point_storage import PointStorage
from hub.store.prompt_switches import PromptLock
from hub.store.remote import S3Access, httpfs_extension
from hub.store.streaming import from_thread
from hub.store.touched import EVERYTHING, Catalog, Recording, Tables

log = logging.getLogger("salon.store")
P = ParamSpec("P")
T = TypeVar("T")
Cursor = duckdb.DuckDBPyConnection


@dataclasses.dataclass(frozen=True, slots=True)
class Committed:
    """What one committed change recorded: its audit events and its activity entries."""

    trail: tuple[AuditDraft, ...]
    entries: tuple[ActivityRecord, ...]
    seq: int = 0  # its number in a shared database's commit log (0: the only hub, no log)
    # Whether it queued webhook messages (another hub's commit: whether it had entries)
    outbox: bool = False


class Database(PointStorage):
    """A connection to the tables, a pool of worker threads and one cursor per thread."""

    def __init__(
        self,
        backend: Backend | Path,
        *,
        memory_limit: str = "768MB",
        threads: int = 2,
        s3: S3Access | None = None,
    ) -> None:
        self.backend = Embedded(backend) if isinstance(backend, Path) else backend
        self.memory_limit = memory_limit
        self._connection = self.backend.connect(
            {
                "memory_limit": memory_limit,
                "threads": threads,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                # DuckDB's bundled jemalloc returns freed pages to the OS only as it decays
                # them, and without its background threads decay runs only when the same
                # arena allocates again: after a big read an idle hub kept hundreds of MB.
                "allocator_background_threads": True,
            }
        )
        if s3 is not None:  # data registered in S3 is read where it lies
            self._connection.execute(f"LOAD '{httpfs_extension()}'")
            self._connection.execute(s3.duckdb_secret())
        self._local = threading.local()
        self._cursors: list[Cursor] = []
        self._cursors_lock = threading.Lock()
        # While either lock is held, threads switch promptly (see prompt_switches).
        self._write_lock = PromptLock()
        # Held from an append to the audit chain until its transaction has committed; taken
        # after the write lock by changes, alone by the events of reads (see record), which
        # let a change waiting for it go first.
        self._chain_lock = ChainLock()
        self._follow_lock = threading.Lock()
        self._passed_lock = threading.Lock()
        self._head = audit.Head()
        self.hub_id = uuid.uuid4().hex[:12]  # this process, in a shared database's commit log
        self._followed = 0  # the last commit of a shared database read from its log
        self._passed_on = 0  # the newest commit (its own or followed) given to the listeners
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="salon-db")
        # The reads a change makes before its transaction, in a lane of their own, so that
        # they do not wait in line behind a busy hub's readers (see hub.priority).
        self._change_reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="salon-db-change")
        # Writes (one transaction at a time anyway, under the write lock) have threads of
        # their own, so that a change never waits in line behind a busy hub's reads: enough
        # for the changes that arrive while one is written to wait together and be committed
        # in one group (see change_groups).
        self._writer = ThreadPoolExecutor(max_workers=8, thread_name_prefix="salon-db-write")
        # Changes waiting for the write lock, committed a group at a time (see change_groups).
        self._changes = ChangeGroups(self._write_lock, self._changes_together)
        # The audit events of reads, in group commits on a thread of their own (see record).
        self._reads_audited = GroupCommit(self._append_reads, "salon-db-group")
        # People's keys read by those groups and by changes, until a transaction that wrote
        # to person_keys ends (an erasure destroys a key): a group is then an insert and a
        # commit, no lookup. Whether a project has an enabled webhook, the same way, until one
        # that wrote to webhooks ends. Neither with hubs sharing the database (another hub's
        # erasure would not drop them here).
        self._kept_keys: dict[str, bytes] = {}
        self._kept_hooks: dict[str, bool] = {}
        self._closed = False
        # Answers of frequent reads, kept until the next change (see read_kept); not with
        # other hubs sharing the database, which change it underneath.
        self._kept = None if self.backend.shared else KeptReads(self.read)
        self.answers: Answers | None = None if self._kept is None else self._kept.answers
        # Called with what each change recorded, once it has committed (live updates, webhooks).
        self.listeners: list[Callable[[Committed], None]] = []

    def apply_schema(self, *, auto_migrate: bool = True) -> list[migrations.Migration]:
        """Bring the file to this Salon's schema (see ``migrations``; with ``auto_migrate``
        false, pending migrations are refused), then run the every-start scripts."""
        applied = migrations.upgrade(
            self._connection, self.backend, __version__, allowed=auto_migrate
        )
        if isinstance(self.backend, Embedded):
            for sql_file in migrations.known()[1]:
                self._connection.execute(sql_file.read_text())
            # Fold whatever the write-ahead log replayed (after a crash) into the file now,
            # with the indexes just rebuilt (see 900_indexes.sql).
            self._connection.execute("CHECKPOINT")
        elif isinstance(self.backend, Shared):  # hubs starting together take turns
            with committed(self._connection, self.backend.begin):
                for sql_file in sorted(migrations.SHARED.glob("*.sql")):
                    self.backend.run_native(self._connection, sql_file.read_text())
            self.backend.settle_points(self._connection)
        with self._write_lock, self._chain_lock:
            self._head = self._load_head(self._connection)
            if self.backend.shared:
                self._followed = self._passed_on = commits.last(self._connection)
            if self._kept is not None:
                self._kept.catalog = self._catalog(self._connection)
        self._changed()
        return applied

    def reload_head(self) -> None:
        """Read the audit chain's head again (after rows were copied in underneath)."""
        with self._write_lock, self._chain_lock:
            self._head = self.read_sync(self._load_head)
        self._changed()

    def _load_head(self, cursor: Cursor) -> audit.Head:
        return audit.load_head(cursor, CATALOG if self.backend.shared else None)

    def size_bytes(self) -> int:
        """How much room the tables take: the DuckDB file and its write-ahead log, or the
        PostgreSQL database."""
        if isinstance(self.backend, Embedded):
            files = (self.path, self.path.with_name(self.path.name + ".wal"))
            return sum(p.stat().st_size for p in files if p.exists())
        row = self.read_sync(
            lambda cur: cur.execute(
                "SELECT * FROM postgres_query(?, 'SELECT pg_database_size(current_database())')",
                [CATALOG],
            ).fetchone()
        )
        return int(row[0]) if row else 0

    @property
    def path(self) -> Path:
        """The DuckDB file (embedded backend only: a shared database has none)."""
        if not isinstance(self.backend, Embedded):
            raise AttributeError("a shared database has no file")
        return self.backend.path

    def _cursor(self) -> Cursor:
        return self._thread_cursor("cursor")

    def _thread_cursor(self, name: str) -> Cursor:
        """The calling thread's cursor called ``name``, made on first use."""
        cursor: Cursor | None = getattr(self._local, name, None)
        if cursor is None:
            cursor = self._connection.cursor()
            self.backend.prepare(cursor)
            setattr(self._local, name, cursor)
            with self._cursors_lock:
                self._cursors.append(cursor)
        return cursor

    def read_sync(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` on the calling thread's cursor. A read that needs more
        memory than the hub's limit is refused as too large (it was an unexpected error)."""
        try:
            with self._answering():
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
        with self._write_lock, self._answering(), self._transaction() as cursor:
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
        return self._audited(events, lambda cursor: fn(cursor, *args, **kwargs), changes=True)

    def _audited(
        self,
        events: Sequence[EventDraft] | Callable[[T], Sequence[EventDraft]],
        work: Callable[[Cursor], T],
        *,
        changes: bool,
    ) -> T:
        """:meth:`audited_write_sync`; ``changes`` false when ``work`` changes nothing a kept
        answer was read from (the events of reads). Changes to a DuckDB file wait to be
        committed in a group with those that arrive beside them (``change_groups``)."""
        change = Change(work, events)
        if changes and not self.backend.shared:
            return self._changes.run(change)
        with self._write_lock:
            self._commit([change], changes=changes)
        return change.outcome()

    def _changes_together(self, group: list[Change[Any]]) -> int:
        """Commit ``group`` (the write lock held) in one transaction; if one of them fails,
        none is kept and each is committed alone, in order, as if they had come one by one.
        How many transactions committed."""
        if len(group) > 1:
            try:
                self._commit(group, changes=True)
            except Exception:  # each again alone, where the error belongs
                pass
            else:
                return 1
        committed = 0
        for change in group:
            try:
                self._commit([change], changes=True)
            except Exception as exc:
                change.raised(exc)
            else:
                committed += 1
        return committed

    def _commit(self, group: list[Change[Any]], *, changes: bool) -> None:
        """Run the changes' work and append their events in one transaction (the write lock
        held); each change is settled with what its work returned once they have committed."""
        with contextlib.ExitStack() as chain:
            with self._answering(), self._transaction(changes=changes) as cursor:
                results: list[Any] = []
                chosen: list[EventDraft] = []
                for change in group:
                    result = change.work(cursor)
                    results.append(result)
                    chosen.extend(change.events_for(result))
                # Let go only once committed (or rolled back): the chain is committed in order.
                chain.enter_context(self._chain_lock.for_change())
                at = now()  # once the chain is ours: its times never go backwards
                trail = [e for e in chosen if isinstance(e, AuditDraft)]
                last = self._load_head(cursor) if self.backend.shared else self._head
                shared = self.backend.shared
                head = audit.append(
                    cursor, last, trail, at, kept_keys=None if shared else self._kept_keys
                )
                drafts = [e for e in chosen if isinstance(e, ActivityDraft)]
                entries, queued = activity.append(
                    cursor, drafts, at, None if shared else self._kept_hooks
                )
                seq = 0
                if self.backend.shared and (trail or entries):  # for the other hubs to follow
                    seq = commits.record(cursor, self.hub_id, last.seq + 1, head.seq, entries, at)
            self._head = head  # only once committed
            self._mark_passed_on(seq)
        for change, result in zip(group, results, strict=True):
            change.succeeded(result)
        self._tell(Committed(tuple(trail), tuple(entries), seq, queued))

    def _append_reads(self, trail: list[AuditDraft]) -> None:
        """Append the audit events of reads in a transaction of their own, under the chain's
        lock but not the write lock: a change's work goes on meanwhile, and only its own
        append and commit come before or after. Under the write lock after all when a caller
        has no key yet (keys are made under it) or with hubs sharing the database (which take
        turns for every transaction anyway)."""
        if self.backend.shared:
            self._audited(trail, _nothing, changes=False)
            return
        try:
            with self._chain_lock.for_reads():
                # Begun under the chain's lock: every change appended before is committed, so
                # this transaction sees the keys they made.
                with self._answering(), committed(self._cursor()) as cursor:
                    head = audit.append(
                        cursor,
                        self._head,
                        trail,
                        now(),
                        make_keys=False,
                        kept_keys=self._kept_keys,
                    )
                self._head = head
        except audit.KeyMissing:
            self._audited(trail, _nothing, changes=False)
            return
        self._tell(Committed(tuple(trail), (), 0, False))

    def _tell(self, committed: Committed) -> None:
        """Give what a transaction committed to the listeners, outside every lock."""
        if self.listeners and (committed.trail or committed.entries):
            for listener in list(self.listeners):
                listener(committed)

    async def audited_write(
        self,
        events: Sequence[EventDraft] | Callable[[T], Sequence[EventDraft]],
        fn: Callable[Concatenate[Cursor, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """:meth:`audited_write_sync` on a worker thread."""
        call = functools.partial(self.audited_write_sync, events, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    def catch_up(self) -> int:
        """Pass what other hubs sharing the database committed since the last call to this
        hub's listeners, in commit order; how many changes that was."""
        with self._follow_lock:
            seen, changes = self.read_sync(commits.since, self._followed, self.hub_id)
            self._followed = seen
        for seq, trail, entries in changes:
            committed = Committed(trail, entries, seq, outbox=bool(entries))
            self._mark_passed_on(seq)
            for listener in list(self.listeners):
                listener(committed)
        return len(changes)

    @property
    def passed_on(self) -> int:
        """The newest commit of a shared database this hub has given its listeners (0 with
        one hub): a change numbered up to it happened before whatever starts listening now."""
        with self._passed_lock:
            return self._passed_on

    def _mark_passed_on(self, seq: int) -> None:
        with self._passed_lock:
            self._passed_on = max(self._passed_on, seq)

    async def record(self, events: Sequence[AuditDraft]) -> None:
        """Append audit events that accompany no change: reads, denials, errors. They are
        written in groups (``group_commit``): calls that arrive while a group is being
        committed form the next one, written in one transaction, and each call returns once
        its own group has committed. Many concurrent reads cost one write turn, not one each,
        and nothing returns before its event is in the chain."""
        await self._reads_audited.add(events)

    @property
    def audit_head(self) -> tuple[int, str]:
        """The last committed event's sequence number and hash."""
        if self.backend.shared:  # other hubs append too
            head = self.read_sync(self._load_head)
            return head.seq, head.hash
        with self._chain_lock:
            return self._head.seq, self._head.hash

    async def read(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` on a worker thread: one of the change lane's when the
        request under way is a change (``hub.priority``)."""
        call = functools.partial(self.read_sync, fn, *args, **kwargs)
        lane = self._change_reads if changing() else self._executor
        return await asyncio.get_running_loop().run_in_executor(lane, call)

    async def read_kept(self, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`read`, answered from memory when the same read was answered since the last
        change (see ``answers.KeptReads`` for which reads may be); a plain read with hubs
        sharing the database."""
        if self._kept is None:
            return await self.read(fn, *args)
        return await self._kept.read(fn, *args)

    def kept_counts(self) -> dict[str, int]:
        """How the reads that may be kept were answered so far: ``kept`` (from memory),
        ``joined`` (by the same read under way) and ``read``; empty with hubs sharing the
        database, which keep nothing."""
        return {} if self._kept is None else dict(self._kept.counts)

    def change_counts(self) -> dict[str, int]:
        """``changes`` committed since the hub started and the ``transactions`` they were
        committed in (fewer when changes that arrived together shared one); empty with hubs
        sharing the database, whose changes commit one by one."""
        if self.backend.shared:
            return {}
        return {"changes": self._changes.changes, "transactions": self._changes.transactions}

    async def write(
        self, fn: Callable[Concatenate[Cursor, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(cursor, ...)`` as one serialised transaction on a worker thread."""
        call = functools.partial(self.write_sync, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    async def stream(
        self,
        fn: Callable[Concatenate[Cursor, P], Iterator[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> AsyncIterator[T]:
        """Items of the generator ``fn(cursor, ...)``, produced on a worker thread a few at a
        time (see ``streaming.from_thread``)."""

        def items() -> Iterator[T]:
            with self._answering():
                yield from fn(self._cursor(), *args, **kwargs)

        async for item in from_thread(self._executor, items):
            yield item

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """A shared database that does not answer (PostgreSQL down or out of reach) is a 503
        with a reason; nothing was changed, and the next request reconnects. The calling
        thread's cursors are dropped: a transaction the lost connection could not roll back
        would otherwise stay open on them, and fail every later request on this thread."""
        try:
            yield
        except duckdb.Error as exc:
            if not isinstance(self.backend, Shared) or not self.backend.lost(exc):
                raise
            log.warning("The shared database does not answer: %s", self.backend.reason(exc))
            self._drop_thread_cursors()
            raise StoreUnavailable(  # where the database is stays in the hub's log
                "The hub's database does not answer; nothing was changed. Try again shortly."
            ) from None

    def _drop_thread_cursors(self) -> None:
        for name in ("cursor", "lake"):
            cursor: Cursor | None = getattr(self._local, name, None)
            if cursor is None:
                continue
            delattr(self._local, name)
            with self._cursors_lock:
                self._cursors.remove(cursor)
            with contextlib.suppress(duckdb.Error):
                cursor.close()

    @contextmanager
    def _transaction(self, *, changes: bool = True) -> Iterator[Cursor]:
        """The calling thread's cursor in a transaction. Unless it ``changes`` nothing a kept
        answer was read from, the answers kept that were read from the tables it changed are
        dropped as it ends (committed or not), before the writer hears of it."""
        if self._kept is None or not changes:
            with committed(self._cursor(), self.backend.begin) as cursor:
                yield cursor
            return
        recording = Recording(self._cursor(), self._kept.catalog)
        try:
            with committed(recording.wrapped, self.backend.begin):
                yield cast(Cursor, recording)
        finally:
            if recording.changed is EVERYTHING:  # tables may have been made: look again
                self._kept.catalog = self._catalog(recording.wrapped)
            self._changed(recording.changed)

    def _catalog(self, cursor: Cursor) -> Catalog:
        """The tables there are now; none known (every read depends on everything) if the
        database cannot say."""
        try:
            return Catalog.of(cursor)
        except duckdb.Error:
            return Catalog()

    def _changed(self, tables: Tables = EVERYTHING) -> None:
        """A change to ``tables`` committed (every caller that appends to the chain holds its
        lock: a group of reads never sees the change committed and the keys not yet dropped)."""
        if tables is EVERYTHING or "person_keys" in tables:
            self._kept_keys.clear()
        if tables is EVERYTHING or "webhooks" in tables:
            self._kept_hooks.clear()
        if self.answers is not None:
            self.answers.changed(tables)

    def close(self) -> None:
        """Finish pending work and release the file."""
        if self._closed:
            return
        self._closed = True
        self._reads_audited.close()
        self._writer.shutdown(wait=True)
        self._executor.shutdown(wait=True)
        self._change_reads.shutdown(wait=True)
        with self._cursors_lock:
            for cursor in self._cursors:
                cursor.close()
        self._connection.close()


def _nothing(cursor: Cursor) -> None:
    return None
