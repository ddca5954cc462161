"""The audit trail: a hash chain of events, appended inside the transaction of what they record.

Each event's hash is SHA-256 over the previous event's hash and this event's fields, in a
canonical JSON form. An edited event no longer matches its hash; a deleted or reordered one
breaks the sequence or the link to its predecessor. Truncating the tail keeps a valid chain,
which is why the hub also writes signed checkpoints of the head outside the database file
(``hub/services/policy/audit.py``); :func:`verify` compares against them.

A project's retention policy may limit how long its events are kept. An event past it is
emptied, not deleted (:func:`prune`): it keeps its place (seq, time, project and both hashes)
and loses everything else, so the chain still links end to end and checkpoints still match.
Verification takes an emptied event on its links alone, and only when a later ``audit.prune``
event of the same project records the pruning.

The head (last sequence number and hash) lives in memory, guarded by the database's write
lock, so appending never reads the table and concurrent transactions cannot both take the
same place in the chain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from hub.domain.audit import PRUNE, AuditDraft, AuditEvent, AuditQuery, ChainReport, EventDraft
from hub.store._rows import insert_rows, to_naive, to_utc
from hub.store.person_keys import every_key, keys_for, seal, unseal

if TYPE_CHECKING:
    from hub.store.database import Database

GENESIS = "0" * 64
_FIELDS = (
    "actor_id",
    "auth_method",
    "auth_id",
    "address",
    "action",
    "object_kind",
    "object_id",
    "project_id",
    "outcome",
    "row_count",
)
_COLUMNS = "seq, occurred_at, " + ", ".join(_FIELDS) + ", prev_hash, hash"
_ADDRESS = _FIELDS.index("address")
_ACTION, _OUTCOME, _PROJECT = (_FIELDS.index(n) for n in ("action", "outcome", "project_id"))
OUTCOMES = ("allow", "deny", "error")
_LIVE = "pruned IS NOT TRUE"
Cursor = duckdb.DuckDBPyConnection


def event_hash(prev_hash: str, seq: int, at: datetime, values: Sequence[Any]) -> str:
    """The chain hash of one event. ``at`` is naive UTC with microseconds, as stored."""
    body = json.dumps([prev_hash, seq, at.isoformat(timespec="microseconds"), *values])
    return hashlib.sha256(body.encode()).hexdigest()


@dataclasses.dataclass
class Head:
    seq: int = 0
    hash: str = GENESIS


def load_head(cur: Cursor, postgres: str | None = None) -> Head:
    """The chain's last event. On PostgreSQL (``postgres``: the attached database's name) the
    query runs there, by the index on seq: DuckDB would read the whole table for it."""
    newest = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
    if postgres is None:
        row = cur.execute(newest).fetchone()
    else:
        row = cur.execute("SELECT * FROM postgres_query(?, ?)", [postgres, newest]).fetchone()
    return Head() if row is None else Head(int(row[0]), str(row[1]))


class KeyMissing(Exception):
    """An actor's address is to be sealed with a key that does not exist yet, and the caller
    may not make one (see :func:`append`)."""


def append(
    cur: Cursor,
    head: Head,
    drafts: Sequence[AuditDraft],
    at: datetime,
    *,
    make_keys: bool = True,
    kept_keys: dict[str, bytes] | None = None,
) -> Head:
    """Insert ``drafts`` after ``head`` in the caller's transaction; returns the new head, which
    the caller makes current only once the transaction has committed. Without ``make_keys``
    (a caller that does not hold the write lock, under which keys are made) an actor with an
    address but no key yet raises KeyMissing, and nothing is inserted. ``kept_keys``: see
    :func:`person_keys.keys_for`."""
    seq, prev = head.seq, head.hash
    stamp = to_naive(at)
    assert stamp is not None
    actors = {d.actor_id for d in drafts if d.address}
    keys = keys_for(cur, actors, create=make_keys, kept=kept_keys)
    if len(keys) < len(actors):
        raise KeyMissing(", ".join(sorted(actors - set(keys))))
    rows = []
    for draft in drafts:
        seq += 1
        values = [getattr(draft, name) for name in _FIELDS]
        if draft.address:  # the person's own key seals it: see person_keys
            values[_ADDRESS] = seal(keys[draft.actor_id], draft.address)
        digest = event_hash(prev, seq, stamp, values)
        rows.append([seq, stamp, *values, prev, digest])
        prev = digest
    insert_rows(cur, "audit_events", _COLUMNS, rows)
    return Head(seq, prev)


def _event(row: tuple[Any, ...]) -> AuditEvent:
    return AuditEvent(row[0], to_utc(row[1]), *row[2:])


def verify(cur: Cursor, checkpoints: Sequence[tuple[int, str]] = ()) -> ChainReport:
    """Recompute the chain from the first event; report the first one that does not fit.

    ``checkpoints`` are (sequence number, hash) pairs the hub signed earlier: each must still
    be in the chain, which catches a truncated tail or a rewritten history. An emptied event
    is taken on its links, and must be followed by an ``audit.prune`` of its project."""
    expected_seq, prev = 1, GENESIS
    by_seq: dict[int, str] = {}
    wanted = {seq for seq, _ in checkpoints}
    unaccounted: dict[str | None, int] = {}  # project -> first emptied event not yet explained
    checked = 0
    result = cur.execute(f"SELECT {_COLUMNS}, pruned FROM audit_events ORDER BY seq")
    while batch := result.fetchmany(10_000):
        for row in batch:
            seq, at, prev_hash, digest, pruned = row[0], row[1], row[-3], row[-2], row[-1]
            if seq != expected_seq:
                problem = (
                    f"event {expected_seq} is missing (next is {seq})"
                    if seq > expected_seq
                    else f"event {seq} appears twice or out of order"
                )
                return ChainReport(checked, expected_seq - 1, prev, expected_seq, problem)
            if prev_hash != prev:
                return ChainReport(
                    checked, seq - 1, prev, seq, f"event {seq} does not follow event {seq - 1}"
                )
            values = row[2:-3]
            if pruned:
                unaccounted.setdefault(values[_PROJECT], seq)
            elif event_hash(prev, seq, at, values) != digest:
                return ChainReport(checked, seq - 1, prev, seq, f"event {seq} was altered")
            elif values[_ACTION] == PRUNE and values[_OUTCOME] == "allow":
                unaccounted.pop(values[_PROJECT], None)
            if seq in wanted:
                by_seq[seq] = digest
            prev, expected_seq, checked = digest, seq + 1, checked + 1
    head_seq = expected_seq - 1
    if unaccounted:
        first = min(unaccounted.values())
        return ChainReport(
            checked,
            head_seq,
            prev,
            first,
            f"event {first} was emptied, but no later {PRUNE} of its project records it",
        )
    for seq, digest in sorted(checkpoints):
        if seq > head_seq:
            return ChainReport(
                checked,
                head_seq,
                prev,
                head_seq + 1,
                f"the trail ends at event {head_seq}, but a signed checkpoint saw event {seq}: "
                "events were removed from the end",
            )
        if by_seq.get(seq) != digest:
            return ChainReport(
                checked, head_seq, prev, seq, f"event {seq} differs from its signed checkpoint"
            )
    return ChainReport(checked, head_seq, prev)


def due(cur: Cursor, project_id: str, before: datetime) -> int:
    """How many of the project's events from before ``before`` are not emptied yet."""
    row = cur.execute(
        f"SELECT count(*) FROM audit_events WHERE project_id = ? AND occurred_at < ? AND {_LIVE}",
        [project_id, to_naive(before)],
    ).fetchone()
    return int(row[0]) if row else 0


def prune(cur: Cursor, project_id: str, before: datetime) -> int:
    """Empty the project's events from before ``before`` (see the module); how many. The
    caller appends the ``audit.prune`` event that records it in the same transaction."""
    found = due(cur, project_id, before)
    if found:
        cur.execute(
            "UPDATE audit_events SET pruned = TRUE, actor_id = '', auth_method = '', "
            "auth_id = NULL, address = NULL, action = '', object_kind = '', object_id = NULL, "
            f"outcome = '', row_count = NULL WHERE project_id = ? AND occurred_at < ? AND {_LIVE}",
            [project_id, to_naive(before)],
        )
    return found


def _where(query: AuditQuery) -> tuple[str, list[Any]]:
    clauses, params = [_LIVE], []
    for name in ("actor_id", "project_id", "object_kind", "object_id", "action", "outcome"):
        value = getattr(query, name)
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if query.since is not None:
        clauses.append("occurred_at >= ?")
        params.append(to_naive(query.since))
    if query.until is not None:
        clauses.append("occurred_at < ?")
        params.append(to_naive(query.until))
    return " AND ".join(clauses), params


def search(cur: Cursor, query: AuditQuery, limit: int, before_seq: int | None) -> list[AuditEvent]:
    """Newest first; ``before_seq`` continues a page. Addresses are read with their actor's
    key ("(erased)" once it is destroyed)."""
    where, params = _where(query)
    if before_seq is not None:
        where += " AND seq < ?"
        params.append(before_seq)
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    events = [_event(row) for row in rows]
    keys = keys_for(cur, (e.actor_id for e in events if e.address), create=False)
    return [
        dataclasses.replace(e, address=unseal(keys.get(e.actor_id), e.address)) if e.address else e
        for e in events
    ]


def _readable(batch: pa.RecordBatch, keys: dict[str, bytes]) -> pa.RecordBatch:
    """The batch with its addresses read with their actors' keys."""
    actors = batch.column("actor_id").to_pylist()
    addresses = batch.column("address").to_pylist()
    shown = [
        unseal(keys.get(actor), address) if address else address
        for actor, address in zip(actors, addresses, strict=True)
    ]
    column = batch.schema.get_field_index("address")
    return batch.set_column(column, "address", pa.array(shown, pa.string()))


def export(cur: Cursor, query: AuditQuery, batch_rows: int = 100_000) -> Iterator[pa.RecordBatch]:
    """Matching events, oldest first, as Arrow record batches (for CSV and Parquet export)."""
    where, params = _where(query)
    keys = every_key(cur)  # before the stream: the cursor serves one query at a time
    reader = cur.execute(
        f"SELECT {_COLUMNS} FROM audit_events WHERE {where} ORDER BY seq", params
    ).fetch_record_batch(batch_rows)
    empty = True
    for batch in reader:
        empty = False
        yield _readable(batch, keys)
    if empty:  # still a header for an empty export
        yield pa.RecordBatch.from_pylist([], schema=reader.schema)


class AuditStore:
    """Reads the audit trail and records events that accompany no change."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, events: Sequence[AuditDraft]) -> None:
        """Append events for reads, denials and errors (changes append their own)."""
        await self._db.record(events)

    @property
    def head(self) -> tuple[int, str]:
        """The last committed event's sequence number and hash."""
        head: tuple[int, str] = self._db.audit_head
        return head

    async def search(
        self, query: AuditQuery, limit: int, before_seq: int | None = None
    ) -> list[AuditEvent]:
        found: list[AuditEvent] = await self._db.read(search, query, limit, before_seq)
        return found

    def export(self, query: AuditQuery) -> AsyncIterator[pa.RecordBatch]:
        return self._db.stream(export, query)

    async def verify(self, checkpoints: Sequence[tuple[int, str]] = ()) -> ChainReport:
        report: ChainReport = await self._db.read(verify, checkpoints)
        return report

    async def due(self, project_id: str, before: datetime) -> int:
        """How many of the project's events from before ``before`` a pruning would empty."""
        found: int = await self._db.read(due, project_id, before)
        return found

    async def prune(
        self,
        project_id: str,
        before: datetime,
        audit: Callable[[int], Sequence[EventDraft]],
    ) -> int:
        """Empty the project's events from before ``before``, with the events ``audit`` gives
        for how many (the ``audit.prune`` one among them) in the same transaction."""
        emptied: int = await self._db.audited_write(audit, prune, project_id, before)
        return emptied

    def verify_sync(self, checkpoints: Sequence[tuple[int, str]] = ()) -> ChainReport:
        return self._db.read_sync(verify, checkpoints)
