"""API tokens, stored as SHA-256 hashes of their secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.store._time import maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.records import TokenRecord

_COLUMNS = "id, name, user_name, is_admin, created_at, expires_at, revoked_at"


def _token(row: tuple[Any, ...]) -> TokenRecord:
    return TokenRecord(
        row[0], row[1], row[2], row[3], to_utc(row[4]), maybe_utc(row[5]), maybe_utc(row[6])
    )


def _insert(cur: Cursor, record: TokenRecord, token_hash: str) -> None:
    cur.execute(
        f"INSERT INTO api_tokens ({_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            record.id,
            record.name,
            record.user_name,
            record.is_admin,
            to_naive(record.created_at),
            to_naive(record.expires_at),
            to_naive(record.revoked_at),
            token_hash,
        ],
    )


def _active(cur: Cursor, token_hash: str, now: datetime) -> TokenRecord | None:
    row = cur.execute(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL "
        "AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",
        [token_hash, to_naive(now)],
    ).fetchone()
    return None if row is None else _token(row)


class TokenStore:
    """Reads and writes API tokens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create_sync(self, record: TokenRecord, token_hash: str) -> None:
        self._db.write_sync(_insert, record, token_hash)

    def active_sync(self, token_hash: str, now: datetime) -> TokenRecord | None:
        return self._db.read_sync(_active, token_hash, now)

    async def active(self, token_hash: str, now: datetime) -> TokenRecord | None:
        """The unrevoked, unexpired token with this hash, if any."""
        return await self._db.read(_active, token_hash, now)
