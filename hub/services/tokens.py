"""API tokens: creation and the check on every request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from hub.errors import Unauthenticated
from hub.ids import new_id
from hub.services.principal import Principal
from hub.store import Store
from hub.store._time import now
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


async def authenticate(store: Store, authorization: str | None) -> Principal:
    """The principal behind an ``Authorization: Bearer …`` header, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated(
            "Send an API token as 'Authorization: Bearer <token>' (salon up prints one)."
        )
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 512:
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    record = await store.tokens.active(hash_token(secret), now())
    if record is None:
        raise Unauthenticated("This API token is unknown, expired or revoked.")
    return Principal(user_name=record.user_name, is_admin=record.is_admin, token_id=record.id)


def ensure_admin_token_sync(store: Store, name: str, secret: str) -> str:
    """Make ``secret`` (from SALON_ADMIN_TOKEN) a valid admin token; storing it once."""
    if store.tokens.active_sync(hash_token(secret), now()) is None:
        create_admin_token_sync(store, name, secret)
    return secret
