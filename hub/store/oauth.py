"""The built-in sign-in provider's state: registered clients, authorization codes and sessions.

Authlib's server code is synchronous, so the hub runs it on a worker thread and these methods
are synchronous too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import ClientRecord, CodeRecord, SessionRecord
from hub.store._rows import affected, maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database

_CODE_COLUMNS = (
    "code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, "
    "code_challenge_method, auth_time, expires_at"
)
_SESSION_COLUMNS = "id, user_id, client_id, scope, auth_time, expires_at, revoked_at"


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        row[0], row[1], row[2], row[3], to_utc(row[4]), to_utc(row[5]), maybe_utc(row[6])
    )


def _ensure_client(cur: Cursor, client: ClientRecord) -> None:
    cur.execute("DELETE FROM oauth_clients WHERE client_id = ?", [client.client_id])
    cur.execute(
        "INSERT INTO oauth_clients (client_id, client_secret_hash, name, redirect_uris, "
        "created_at) VALUES (?, ?, ?, ?, now())",
        [client.client_id, client.secret_hash, client.name, list(client.redirect_uris)],
    )


def _save_code(cur: Cursor, code: CodeRecord) -> None:
    values = dataclasses.astuple(code)
    cur.execute(
        f"INSERT INTO oauth_codes ({_CODE_COLUMNS}) VALUES ({', '.join('?' * len(values))})",
        [to_naive(v) if isinstance(v, datetime) else v for v in values],
    )


def _take_code(cur: Cursor, code_hash: str) -> None:
    cur.execute("DELETE FROM oauth_codes WHERE code_hash = ?", [code_hash])


def _start_session(cur: Cursor, session: SessionRecord, refresh_hash: str) -> None:
    cur.execute(
        f"INSERT INTO sessions ({_SESSION_COLUMNS}, refresh_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            session.id,
            session.user_id,
            session.client_id,
            session.scope,
            to_naive(session.auth_time),
            to_naive(session.expires_at),
            None,
            refresh_hash,
        ],
    )


def _rotate(cur: Cursor, session_id: str, refresh_hash: str) -> None:
    cur.execute(
        "INSERT INTO oauth_spent SELECT refresh_hash, id, expires_at FROM sessions "
        "WHERE id = ? AND refresh_hash IS NOT NULL",
        [session_id],
    )
    cur.execute("UPDATE sessions SET refresh_hash = ? WHERE id = ?", [refresh_hash, session_id])


def _spend_code(cur: Cursor, code_hash: str, session_id: str) -> None:
    """The code is used up: deleted, and remembered with the session it started."""
    cur.execute(
        "INSERT INTO oauth_spent SELECT ?, id, expires_at FROM sessions WHERE id = ?",
        [code_hash, session_id],
    )
    cur.execute("DELETE FROM oauth_codes WHERE code_hash = ?", [code_hash])


def _end_session(cur: Cursor, session_id: str, at: datetime) -> None:
    cur.execute(
        "UPDATE sessions SET revoked_at = ?, refresh_hash = NULL "
        "WHERE id = ? AND revoked_at IS NULL",
        [to_naive(at), session_id],
    )


def end_user_sessions(cur: Cursor, user_id: str, client_id: str | None, at: datetime) -> int:
    """Revoke a person's sessions (at one client, or all) in the caller's transaction."""
    return affected(
        cur,
        "UPDATE sessions SET revoked_at = ?, refresh_hash = NULL "
        "WHERE user_id = ? AND (? IS NULL OR client_id = ?) AND revoked_at IS NULL",
        [to_naive(at), user_id, client_id, client_id],
    )


class OAuthStore:
    """Clients, codes and sessions of the built-in provider."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure_client(self, client: ClientRecord, *, audit: Sequence[EventDraft]) -> None:
        """Register (or re-register with new settings) a client."""
        self._db.audited_write_sync(audit, _ensure_client, client)

    def client(self, client_id: str) -> ClientRecord | None:
        row = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT client_id, name, redirect_uris, client_secret_hash FROM oauth_clients "
                "WHERE client_id = ? LIMIT 1",
                [client_id],
            ).fetchone()
        )
        return None if row is None else ClientRecord(row[0], row[1], tuple(row[2]), row[3])

    def save_code(self, code: CodeRecord, *, audit: Sequence[EventDraft]) -> None:
        self._db.audited_write_sync(audit, _save_code, code)

    def code(self, code_hash: str, now: datetime) -> CodeRecord | None:
        row = self._db.read_sync(
            lambda cur: cur.execute(
                f"SELECT {_CODE_COLUMNS} FROM oauth_codes WHERE code_hash = ? AND expires_at > ? "
                "LIMIT 1",
                [code_hash, to_naive(now)],
            ).fetchone()
        )
        if row is None:
            return None
        r = row
        return CodeRecord(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], to_utc(r[8]), to_utc(r[9])
        )

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        row = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT 1 FROM oauth_codes WHERE client_id = ? AND nonce = ? LIMIT 1",
                [client_id, nonce],
            ).fetchone()
        )
        return row is not None

    def take_code(self, code_hash: str, session_id: str | None = None) -> None:
        """Codes are single-use: delete once exchanged (audited with the session it starts),
        remembering which session it started so that a replay can end it."""
        if session_id is None:
            self._db.audited_write_sync((), _take_code, code_hash)
        else:
            self._db.audited_write_sync((), _spend_code, code_hash, session_id)

    def spent(self, credential_hash: str, now: datetime) -> str | None:
        """The session an already used refresh token or code belonged to (None: never seen)."""
        row = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT session_id FROM oauth_spent WHERE hash = ? AND expires_at > ? LIMIT 1",
                [credential_hash, to_naive(now)],
            ).fetchone()
        )
        return None if row is None else str(row[0])

    def end_session(self, session_id: str, at: datetime, *, audit: Sequence[EventDraft]) -> None:
        """End one session (its refresh token and the access tokens issued under it)."""
        self._db.audited_write_sync(audit, _end_session, session_id, at)

    def start_session(
        self, session: SessionRecord, refresh_hash: str, *, audit: Sequence[EventDraft]
    ) -> None:
        self._db.audited_write_sync(audit, _start_session, session, refresh_hash)

    def session_by_refresh(self, refresh_hash: str, now: datetime) -> SessionRecord | None:
        row = self._db.read_sync(
            lambda cur: cur.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE refresh_hash = ? "
                "AND revoked_at IS NULL AND expires_at > ? LIMIT 1",
                [refresh_hash, to_naive(now)],
            ).fetchone()
        )
        return None if row is None else _session(row)

    def rotate_refresh(
        self, session_id: str, refresh_hash: str, *, audit: Sequence[EventDraft]
    ) -> None:
        self._db.audited_write_sync(audit, _rotate, session_id, refresh_hash)

    async def active_session(self, session_id: str, now: datetime) -> SessionRecord | None:
        row = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ? AND revoked_at IS NULL "
                "AND expires_at > ? LIMIT 1",
                [session_id, to_naive(now)],
            ).fetchone()
        )
        return None if row is None else _session(row)

    def end_sessions(
        self, user_id: str, client_id: str | None, at: datetime, *, audit: Sequence[EventDraft]
    ) -> int:
        """Revoke the person's sessions (at one client, or everywhere); returns how many."""
        ended: int = self._db.audited_write_sync(audit, end_user_sessions, user_id, client_id, at)
        return ended
