"""Personal API tokens: creation, scopes, revocation and the check on every request.

A token acts for the person who created it and can only narrow what they may do: to some
projects, to reading, to a lifetime. Only its SHA-256 hash is stored; the secret is shown once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from hub.clock import now
from hub.domain.identity import TokenRecord, UserRecord
from hub.errors import Conflict, InvalidInput, LimitExceeded, NotFound, Unauthenticated
from hub.ids import new_id
from hub.services.identity.accounts import create_user_sync
from hub.services.policy import audit, permissions
from hub.services.policy.keep import FolderKeep
from hub.services.policy.limits import check_name
from hub.services.policy.principal import SYSTEM, Principal
from hub.store import Store

PREFIX = "salon_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_TOKENS_PER_USER = 100


def hash_token(secret: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class PrincipalCache:
    """Principals verified in the last few seconds, so that a busy client (a training script
    sends several requests a second) does not cost three queries per request.

    An entry lives ``ttl`` seconds and never past its credential's expiry. Only known
    credentials are kept; a guess always reaches the store. Revoking a token calls
    :meth:`forget`; disabling a person or changing a group calls :meth:`clear`, so either
    takes effect on the next request.
    """

    def __init__(self, ttl: float = 5.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, datetime | None, Principal]] = {}

    def get(self, key: str, at: datetime) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        checked, expires_at, principal = entry
        if time.monotonic() - checked > self.ttl or (expires_at is not None and expires_at <= at):
            self._entries.pop(key, None)
            return None
        return principal

    def put(self, key: str, principal: Principal, expires_at: datetime | None) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), expires_at, principal)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


async def principal_for_user(
    store: Store,
    user: UserRecord,
    *,
    auth_method: str,
    auth_id: str | None,
    claimed_groups: Sequence[str] = (),
) -> Principal:
    """The principal of an active person (their groups resolved)."""
    group_ids = await store.users.group_ids_of(user.id, claimed_groups)
    return Principal(
        user_id=user.id,
        user_name=user.name,
        is_admin=user.is_admin,
        is_compliance=user.is_compliance,
        group_ids=frozenset(group_ids),
        auth_method=auth_method,
        auth_id=auth_id,
    )


async def principal_for_token(
    store: Store, secret: str, cache: PrincipalCache | None = None
) -> Principal:
    """The principal behind an API token secret, or Unauthenticated."""
    token_hash, at = hash_token(secret), now()
    cached = cache.get(token_hash, at) if cache is not None else None
    if cached is not None:
        return cached
    record = await store.tokens.active(token_hash, at)
    user = None if record is None else await store.users.by_id(record.user_id)
    if record is None or user is None or user.disabled_at is not None:
        raise Unauthenticated("This API token is unknown, expired or revoked.")
    principal = await principal_for_user(store, user, auth_method="token", auth_id=record.id)
    if record.scope_projects is not None or not record.scope_write:
        scope = None if record.scope_projects is None else frozenset(record.scope_projects)
        principal = dataclasses.replace(
            principal, scope_projects=scope, scope_write=record.scope_write
        )
    if cache is not None:
        cache.put(token_hash, principal, record.expires_at)
    return principal


def parse_bearer(authorization: str | None) -> str:
    """The credential in an ``Authorization: Bearer …`` header, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated(
            "Send an API token as 'Authorization: Bearer <token>' (salon up prints one)."
        )
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 8192:
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return secret


# Creating and revoking ---------------------------------------------------------------------


async def create_token(
    store: Store,
    principal: Principal,
    name: str,
    *,
    projects: Sequence[str] | None = None,
    write: bool = True,
    expires_in_days: int | None = DEFAULT_DAYS,
) -> tuple[TokenRecord, str]:
    """A new token for the principal; returns it and its secret (shown once).

    ``projects`` (names) narrows it to those projects, ``write=False`` to reading. A token
    never gets more than the principal acting now: a read-only or narrowed token can only
    make tokens narrower still."""
    name = check_name(name, "token")
    if expires_in_days is None or not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidInput(
            f"Tokens expire after 1 to {MAX_DAYS} days (asked for {expires_in_days}).",
            field="expiresInDays",
        )
    if write and not principal.scope_write:
        raise InvalidInput("A read-only token can only create read-only tokens.", field="write")
    scope: tuple[str, ...] | None = None
    if projects is not None:
        ids = []
        for project_name in dict.fromkeys(projects):
            project = await store.projects.by_name(project_name)
            if project is None or await permissions.access_to(store, principal, project.id) is None:
                raise NotFound(f"No project named {project_name!r}.", field="projects")
            ids.append(project.id)
        if not ids:
            raise InvalidInput("Name at least one project, or none for all.", field="projects")
        scope = tuple(ids)
    elif principal.scope_projects is not None:
        scope = tuple(sorted(principal.scope_projects))
    mine = [t for t in await store.tokens.of_user(principal.user_id) if t.revoked_at is None]
    if len(mine) >= MAX_TOKENS_PER_USER:
        raise LimitExceeded(f"You have {len(mine)} tokens; revoke some before making more.")
    at = now()
    record = TokenRecord(
        new_id(),
        name,
        principal.user_id,
        principal.user_name,
        at,
        at + timedelta(days=expires_in_days),
        None,
        scope,
        write,
    )
    secret = new_secret()
    events = [audit.event(principal, "token.create", "token", record.id, rows=1)]
    await store.tokens.create(record, hash_token(secret), audit=events)
    return record, secret


async def list_tokens(store: Store, principal: Principal) -> list[TokenRecord]:
    """The principal's own tokens, newest first."""
    tokens = await store.tokens.of_user(principal.user_id)
    await audit.read(store, principal, "tokens.list", "token", None, None, len(tokens))
    return tokens


async def revoke_token(
    store: Store, principal: Principal, token_id: str, cache: PrincipalCache | None = None
) -> TokenRecord:
    """Revoke one of the principal's tokens (site admins: anyone's); effective at once."""
    record = await store.tokens.by_id(token_id)
    if record is None or (
        record.user_id != principal.user_id and not permissions.can_manage_people(principal)
    ):
        await audit.deny(store, principal, "token.revoke", "token", token_id)
        raise NotFound(f"No token with id {token_id!r}.", field="id")
    events = [audit.event(principal, "token.revoke", "token", record.id, rows=1)]
    token_hash = await store.tokens.revoke(record.id, now(), audit=events)
    if cache is not None and token_hash is not None:
        cache.forget(token_hash)
    revoked = await store.tokens.by_id(token_id)
    assert revoked is not None
    return revoked


# Start-up ----------------------------------------------------------------------------------

ADMIN_NAME = "admin"


def ensure_admin_user_sync(store: Store, password: str | None = None) -> UserRecord:
    """The site admin account every data directory has (created at first start, by whichever
    hub sharing the database gets there first)."""
    existing = store.users.by_name_sync(ADMIN_NAME)
    if existing is not None:
        return existing
    try:
        return create_user_sync(
            store, ADMIN_NAME, password, is_admin=True, display_name="Salon admin"
        )
    except Conflict:  # another hub made it a moment ago
        made = store.users.by_name_sync(ADMIN_NAME)
        assert made is not None
        return made


def create_token_sync(
    store: Store,
    user: UserRecord,
    name: str,
    secret: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Store a token for ``user`` (start-up, tests, the command line); returns the secret."""
    secret = secret or new_secret()
    record = TokenRecord(new_id(), name, user.id, user.name, now(), expires_at, None)
    events = [audit.event(SYSTEM, "token.create", "token", record.id, rows=1)]
    store.tokens.create_sync(record, hash_token(secret), audit=events)
    return secret


def create_admin_token_sync(
    store: Store, name: str, secret: str | None = None, expires_at: datetime | None = None
) -> str:
    """A token of the site admin account (for ``salon up`` and tests)."""
    return create_token_sync(store, ensure_admin_user_sync(store), name, secret, expires_at)


def ensure_admin_token_sync(store: Store, name: str, secret: str) -> str:
    """Make ``secret`` (from SALON_ADMIN_TOKEN) a valid admin token; storing it once, also
    when several hubs start with it at the same moment."""
    if store.tokens.active_sync(hash_token(secret), now()) is None:
        user = ensure_admin_user_sync(store)
        record = TokenRecord(new_id(), name, user.id, user.name, now(), None, None)
        events = [audit.event(SYSTEM, "token.create", "token", record.id, rows=1)]
        store.tokens.create_once_sync(record, hash_token(secret), audit=events)
    return secret


def local_admin_token_sync(store: Store, path: Path) -> str:
    """The admin token of this data directory for ``salon up``: the one kept in ``path`` while
    it is still valid, else a new one written there (mode 600). Restarting keeps notebooks
    and the dashboard working with the same token; the store keeps only its hash."""
    keep = FolderKeep(path.parent)
    secret = keep.get(path.name)
    if secret and store.tokens.active_sync(hash_token(secret), now()) is not None:
        return secret
    secret = create_admin_token_sync(store, "salon up")
    keep.put(path.name, secret)
    return secret
