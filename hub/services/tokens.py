"""API tokens: creation and the check on every request."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from pathlib import Path

from hub.clock import now
from hub.errors import Unauthenticated
from hub.ids import new_id
from hub.services.principal import Principal
from hub.store import Store
from hub.store.records import TokenRecord

PREFIX = "salon_"


def hash_token(secret: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough (no password stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create_admin_token_sync(
    store: Store, name: str, secret: str | None = None, expires_at: datetime | None = None
) -> str:
    """Store an admin token (for ``salon up``); returns the secret, shown once."""
    secret = secret or new_secret()
    record = TokenRecord(new_id(), name, "admin", True, now(), expires_at, None)
    store.tokens.create_sync(record, hash_token(secret))
    return secret


class TokenCache:
    """Tokens verified in the last few seconds, so that a busy client (a training script
    sends several requests a second) does not cost a query per request.

    An entry lives ``ttl`` seconds and never past its token's expiry. Only known tokens are
    kept; a guess always reaches the store. Whatever revokes a token must call
    :meth:`forget`, which makes revocation take effect on the next request in this process.
    """

    def __init__(self, ttl: float = 5.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, TokenRecord]] = {}

    def get(self, token_hash: str, at: datetime) -> TokenRecord | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        checked, record = entry
        if time.monotonic() - checked > self.ttl or (
            record.expires_at is not None and record.expires_at <= at
        ):
            self._entries.pop(token_hash, None)
            return None
        return record

    def put(self, token_hash: str, record: TokenRecord) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[token_hash] = (time.monotonic(), record)

    def forget(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)


async def authenticate(
    store: Store, authorization: str | None, cache: TokenCache | None = None
) -> Principal:
    """The principal behind an ``Authorization: Bearer …`` header, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated(
            "Send an API token as 'Authorization: Bearer <token>' (salon up prints one)."
        )
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 512:
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    token_hash, at = hash_token(secret), now()
    record = cache.get(token_hash, at) if cache is not None else None
    if record is None:
        record = await store.tokens.active(token_hash, at)
        if record is None:
            raise Unauthenticated("This API token is unknown, expired or revoked.")
        if cache is not None:
            cache.put(token_hash, record)
    return Principal(user_name=record.user_name, is_admin=record.is_admin, token_id=record.id)


def ensure_admin_token_sync(store: Store, name: str, secret: str) -> str:
    """Make ``secret`` (from SALON_ADMIN_TOKEN) a valid admin token; storing it once."""
    if store.tokens.active_sync(hash_token(secret), now()) is None:
        create_admin_token_sync(store, name, secret)
    return secret


def local_admin_token_sync(store: Store, path: Path) -> str:
    """The admin token of this data directory for ``salon up``: the one kept in ``path`` while
    it is still valid, else a new one written there (mode 600). Restarting keeps notebooks
    and the dashboard working with the same token; the store keeps only its hash."""
    if path.is_file():
        secret = path.read_text().strip()
        if secret and store.tokens.active_sync(hash_token(secret), now()) is not None:
            return secret
    secret = create_admin_token_sync(store, "salon up")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(secret + "\n")
    return secret
