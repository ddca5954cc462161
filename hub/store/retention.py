"""Retention policies: each project's, and what one says is due for the trash now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.lifecycle import Due, RetentionPolicy
from hub.store import audit
from hub.store._rows import maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.hidden import live

_COLUMNS = (
    "project_id, runs_days, keep_tag, versions_kept, updated_by, updated_at, last_applied, "
    "audit_years"
)
MOST = 10_000  # due objects moved at once; the next round takes the rest

# Nothing a legal hold covers is due: a person hold keeps what they made.
_HELD_PERSON = (
    "EXISTS (SELECT 1 FROM legal_holds h JOIN users u ON u.id = h.object_id "
    "WHERE h.kind = 'person' AND h.released_at IS NULL AND u.name IN ({names}))"
)
_HELD_DATASET = (
    "EXISTS (SELECT 1 FROM legal_holds h WHERE h.kind = 'dataset' AND h.released_at IS NULL "
    "AND h.object_id = {dataset})"
)


def _policy(row: tuple[Any, ...]) -> RetentionPolicy:
    return RetentionPolicy(
        row[0], row[1], row[2], row[3], row[4], to_utc(row[5]), maybe_utc(row[6]), row[7]
    )


def _of(cur: Cursor, project_id: str) -> RetentionPolicy | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM retention_policies WHERE project_id = ?", [project_id]
    ).fetchone()
    return None if row is None else _policy(row)


def _set(cur: Cursor, policy: RetentionPolicy) -> RetentionPolicy:
    cur.execute("DELETE FROM retention_policies WHERE project_id = ?", [policy.project_id])
    cur.execute(
        f"INSERT INTO retention_policies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            policy.project_id,
            policy.runs_days,
            policy.keep_tag,
            policy.versions_kept,
            policy.updated_by,
            to_naive(policy.updated_at),
            policy.audit_years,
        ],
    )
    return policy


def _due(cur: Cursor, policy: RetentionPolicy, at: datetime) -> Due:
    runs: list[tuple[str, str]] = []
    if policy.runs_days is not None:
        before = to_naive(at - timedelta(days=policy.runs_days))
        runs = [
            (str(row[0]), str(row[1]))
            for row in cur.execute(
                "SELECT r.id, r.name FROM runs r WHERE r.project_id = ? AND r.status <> "
                "'running' AND coalesce(r.ended_at, r.started_at) < ? "
                f"AND {live('run', 'r.id')} AND NOT EXISTS (SELECT 1 FROM tags t "
                "WHERE t.run_id = r.id AND t.key = ?) AND NOT "
                f"{_HELD_PERSON.format(names='r.user_name, r.created_by')} "
                f"ORDER BY r.started_at, r.id LIMIT {MOST}",
                [policy.project_id, before, policy.keep_tag],
            ).fetchall()
        ]
    versions: list[tuple[str, str]] = []
    if policy.versions_kept is not None:
        versions = [
            (str(row[0]), str(row[1]))
            for row in cur.execute(
                "SELECT v.id, d.name || ' v' || v.number FROM dataset_versions v "
                "JOIN datasets d ON d.id = v.dataset_id WHERE v.project_id = ? "
                f"AND {live('dataset_version', 'v.id')} AND {live('dataset', 'd.id')} "
                f"AND NOT {_HELD_DATASET.format(dataset='d.id')} "
                f"AND NOT {_HELD_PERSON.format(names='v.author')} "
                "QUALIFY row_number() OVER (PARTITION BY v.dataset_id ORDER BY v.number DESC) > ? "
                f"ORDER BY d.name, v.number LIMIT {MOST}",
                [policy.project_id, policy.versions_kept],
            ).fetchall()
        ]
    before = policy.audit_before(at)
    events = 0 if before is None else audit.due(cur, policy.project_id, before)
    return Due(tuple(runs), tuple(versions), events, before)


class RetentionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, project_id: str) -> RetentionPolicy | None:
        return await self._db.read(_of, project_id)

    async def every(self) -> list[RetentionPolicy]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM retention_policies ORDER BY project_id"
            ).fetchall()
        )
        return [_policy(row) for row in rows]

    async def set(self, policy: RetentionPolicy, *, audit: Sequence[EventDraft]) -> RetentionPolicy:
        """Replace the project's policy."""
        return await self._db.audited_write(audit, _set, policy)

    async def due(self, policy: RetentionPolicy, at: datetime) -> Due:
        """What the policy would move to the trash at ``at`` (at most MOST of each kind)."""
        return await self._db.read(_due, policy, at)

    async def applied(self, project_id: str, at: datetime) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "UPDATE retention_policies SET last_applied = ? WHERE project_id = ?",
                [to_naive(at), project_id],
            )
        )
