"""Sign-in through the hub's own OpenID provider: its clients, authorization codes, sessions and
their refresh tokens, and the password sign-in attempts that start them.

The provider (``hub/auth``) speaks OAuth; what it keeps, and the audit events that record it,
are here. Credentials are kept only as digests. Authlib calls its hooks from worker threads, so
most functions here are synchronous.
"""

from __future__ import annotations

import dataclasses

from hub.clock import now
from hub.domain.audit import AuditDraft
from hub.domain.identity import ClientRecord, CodeRecord, SessionRecord, UserRecord
from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM
from hub.store import Store


def attempt(user_id: str | None, address: str | None, outcome: str) -> AuditDraft:
    """A password sign-in attempt; a failed one names no account (the name may be a typo of
    a password, which must never reach the trail)."""
    event = audit.event(None, "signin", "user", user_id, outcome=outcome)
    return dataclasses.replace(
        event, actor_id=user_id or "anonymous", auth_method="password", address=address
    )


async def record_attempt(
    store: Store, user_id: str | None, address: str | None, outcome: str
) -> None:
    await store.audit.record([attempt(user_id, address, outcome)])


def _active(user: UserRecord | None) -> UserRecord | None:
    return user if user is not None and user.disabled_at is None else None


def active_user_sync(store: Store, user_id: str) -> UserRecord | None:
    """The person, unless their account is gone or disabled."""
    return _active(store.users.by_id_sync(user_id))


async def active_user(store: Store, user_id: str) -> UserRecord | None:
    return _active(await store.users.by_id(user_id))


async def session_person(
    store: Store, session_id: str, user_id: str
) -> tuple[SessionRecord, UserRecord] | None:
    """The live session and its active person behind an access token, or None when the
    session ended, the account was disabled, or the token names someone else."""
    session = await store.oauth.active_session(session_id, now())
    user = await active_user(store, user_id)
    if session is None or user is None or session.user_id != user.id:
        return None
    return session, user


# Clients -------------------------------------------------------------------------------------


def client(store: Store, client_id: str) -> ClientRecord | None:
    return store.oauth.client(client_id)


def register_client(store: Store, wanted: ClientRecord) -> None:
    """Register a client, or bring it up to date; a change is audited."""
    if store.oauth.client(wanted.client_id) != wanted:
        event = audit.event(SYSTEM, "client.register", "client", wanted.client_id)
        store.oauth.ensure_client(wanted, audit=[event])


# Codes and sessions ----------------------------------------------------------------------------


def save_code(store: Store, code: CodeRecord, event: AuditDraft) -> None:
    store.oauth.save_code(code, audit=[event])


def current_code(store: Store, code_hash: str) -> CodeRecord | None:
    """An authorization code that is neither used nor expired."""
    return store.oauth.code(code_hash, now())


def take_code(store: Store, code_hash: str, session_id: str | None) -> None:
    """Use a code up, remembering the session it started (to end it if the code comes back)."""
    store.oauth.take_code(code_hash, session_id)


def nonce_used(store: Store, client_id: str, nonce: str) -> bool:
    return store.oauth.nonce_used(client_id, nonce)


def session_by_refresh(store: Store, refresh_hash: str) -> SessionRecord | None:
    """The live session whose current refresh token this is."""
    return store.oauth.session_by_refresh(refresh_hash, now())


def start_session(
    store: Store, session: SessionRecord, refresh_hash: str, event: AuditDraft
) -> None:
    store.oauth.start_session(session, refresh_hash, audit=[event])


def rotate_refresh(store: Store, session_id: str, refresh_hash: str, event: AuditDraft) -> None:
    store.oauth.rotate_refresh(session_id, refresh_hash, audit=[event])


def end_replayed(store: Store, credential_hash: str) -> str | None:
    """A code or refresh token that is not current came back: if it was used before, someone
    holds a copy, so the session it belongs to ends. Returns that session's id."""
    session_id = store.oauth.spent(credential_hash, now())
    if session_id is not None:
        event = audit.event(None, "session.replay", "session", session_id, outcome="deny")
        store.oauth.end_session(session_id, now(), audit=[event])
    return session_id


def end_sessions(store: Store, user_id: str, client_id: str | None) -> None:
    """Sign a person out: every session of theirs (at one client, or everywhere)."""
    action = audit.event(None, "session.end", "user", user_id)
    event = dataclasses.replace(action, actor_id=user_id, auth_method="session")
    store.oauth.end_sessions(user_id, client_id, now(), audit=[event])
