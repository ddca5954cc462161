"""API tokens, stored as SHA-256 hashes of their secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import TokenRecord
from hub.store._rows import maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database

_COLUMNS = (
    "id, name, user_id, user_name, created_at, expires_at, revoked_at, scope_projects, scope_write"
)


def _token(row: tuple[Any, ...]) -> TokenRecord:
    return TokenRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        to_utc(row[4]),
        maybe_utc(row[5]),
        maybe_utc(row[6]),
        None if row[7] is None else tuple(row[7]),
        True if row[8] is None else bool(row[8]),
    )


def _insert(cur: Cursor, record: TokenRecord, token_hash: str) -> TokenRecord:
    cur.execute(
        f"INSERT INTO api_tokens ({_COLUMNS}, is_admin, token_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?)",
        [
            record.id,
            record.name,
            record.user_id,
            record.user_name,
            to_naive(record.created_at),
            to_naive(record.expires_at),
            to_naive(record.revoked_at),
            None if record.scope_projects is None else list(record.scope_projects),
            record.scope_write,
            token_hash,
        ],
    )
    return record


def _active(cur: Cursor, token_hash: str, now: datetime) -> TokenRecord | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL "
        "AND user_id IS NOT NULL "
        "AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",
        [token_hash, to_naive(now)],
    ).fetchone()
    return None if row is None else _token(row)


def _revoke(cur: Cursor, token_id: str, at: datetime) -> str | None:
    row = cur.execute(
        "SELECT token_hash FROM api_tokens WHERE id = ? AND revoked_at IS NULL", [token_id]
    ).fetchone()
    if row is None:
        return None
    cur.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [to_naive(at), token_id])
    return str(row[0])


def revoke_user_tokens(cur: Cursor, user_id: str, at: datetime) -> None:
    """Revoke every API token of a person, in the caller's transaction."""
    cur.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        [to_naive(at), user_id],
    )


class TokenStore:
    """Reads and writes API tokens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, record: TokenRecord, token_hash: str, *, audit: Sequence[EventDraft]
    ) -> TokenRecord:
        return await self._db.audited_write(audit, _insert, record, token_hash)

    def create_sync(
        self, record: TokenRecord, token_hash: str, *, audit: Sequence[EventDraft]
    ) -> TokenRecord:
        return self._db.audited_write_sync(audit, _insert, record, token_hash)

    def create_once_sync(
        self, record: TokenRecord, token_hash: str, *, audit: Sequence[EventDraft]
    ) -> bool:
        """Store the token unless an active one has the same hash (hubs starting together
        with the same SALON_ADMIN_TOKEN); whether it was stored. Audited only then."""

        def once(cur: Cursor) -> bool:
            if _active(cur, token_hash, record.created_at) is not None:
                return False
            _insert(cur, record, token_hash)
            return True

        return self._db.audited_write_sync(lambda made: audit if made else [], once)

    def active_sync(self, token_hash: str, now: datetime) -> TokenRecord | None:
        return self._db.read_sync(_active, token_hash, now)

    async def active(self, token_hash: str, now: datetime) -> TokenRecord | None:
        """The unrevoked, unexpired token with this hash, if any."""
        return await self._db.read(_active, token_hash, now)

    async def by_id(self, token_id: str) -> TokenRecord | None:
        row = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ? LIMIT 1", [token_id]
            ).fetchone()
        )
        return None if row is None else _token(row)

    async def of_user(self, user_id: str) -> list[TokenRecord]:
        """A person's tokens, newest first, revoked and expired ones included."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC",
                [user_id],
            ).fetchall()
        )
        return [_token(row) for row in rows]

    async def revoke(
        self, token_id: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> str | None:
        """Revoke a token; returns its hash (to drop it from caches), or None if it was not
        active."""
        return await self._db.audited_write(audit, _revoke, token_id, at)
