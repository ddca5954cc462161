"""The commit log of a shared database: which hub committed which change, in order, so that the
other hubs can pass it to their listeners (see ``018_commits.sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb

from hub.domain.audit import AuditDraft
from hub.domain.collaboration import ActivityRecord
from hub.store import activity
from hub.store._rows import to_naive
from hub.store.backends import CATALOG

Cursor = duckdb.DuckDBPyConnection
_DRAFT = (
    "actor_id, auth_method, auth_id, address, action, object_kind, object_id, project_id, "
    "outcome, row_count"
)


def last(cur: Cursor) -> int:
    """The newest commit's number (0: none yet), asked of PostgreSQL itself (by its key)."""
    row = cur.execute(
        "SELECT * FROM postgres_query(?, 'SELECT coalesce(max(seq), 0) FROM commits')", [CATALOG]
    ).fetchone()
    return int(row[0]) if row else 0


def record(
    cur: Cursor,
    hub: str,
    audit_from: int,
    audit_to: int,
    entries: Sequence[ActivityRecord],
    at: datetime,
) -> int:
    """Log a change in the caller's transaction (its writes hold the hubs' lock: numbers are
    taken in commit order, without gaps); its number."""
    seq = last(cur) + 1
    cur.execute(
        "INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?)",
        [seq, hub, audit_from, audit_to, [e.id for e in entries], to_naive(at)],
    )
    return seq


Change = tuple[int, tuple[AuditDraft, ...], tuple[ActivityRecord, ...]]


def since(cur: Cursor, seq: int, hub: str) -> tuple[int, list[Change]]:
    """What other hubs committed after commit ``seq``: the newest number seen, and each
    change's number, audit events and feed entries, in order."""
    rows = cur.execute(
        f"SELECT seq, hub, audit_from, audit_to, activity_ids FROM commits "
        f"WHERE seq > {int(seq)} ORDER BY seq"
    ).fetchall()
    if not rows:
        return seq, []
    theirs = [row for row in rows if row[1] != hub]
    if not theirs:
        return int(rows[-1][0]), []
    # Two reads for all of them: their audit events (one range of seq) and their feed entries.
    low = min(int(row[2]) for row in theirs)
    high = max(int(row[3]) for row in theirs)
    events = {
        int(row[0]): AuditDraft(*row[1:])
        for row in cur.execute(
            f"SELECT seq, {_DRAFT} FROM audit_events WHERE seq BETWEEN {low} AND {high}"
        ).fetchall()
    }
    entry_ids = [i for row in theirs for i in row[4]]
    found = activity.by_ids_sync(cur, entry_ids) if entry_ids else {}
    changes: list[Change] = [
        (
            int(number),
            tuple(events[s] for s in range(int(first), int(last) + 1) if s in events),
            tuple(found[i] for i in entry_ids_of if i in found),
        )
        for number, _, first, last, entry_ids_of in theirs
    ]
    return int(rows[-1][0]), changes


def prune(cur: Cursor, before: datetime) -> None:
    """Forget commits older than ``before``: every running hub has followed them by then. The
    newest stays, whatever its age: the numbering goes on from it."""
    newest = last(cur)
    cur.execute(
        "DELETE FROM commits WHERE committed_at < ? AND seq < ?", [to_naive(before), newest]
    )
