"""What service tests share: running a service call, and a person signed in."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from hub.services.identity import accounts, tokens
from hub.services.policy.principal import SYSTEM, Principal
from hub.store import Store

T = TypeVar("T")
PASSWORD = "a-long-password-1"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def person(store: Store, name: str, password: str | None = None, **flags: Any) -> Principal:
    """A new account (``flags``: is_admin, is_compliance, email...) signed in by session. It
    has a password only when given one: argon2 hashes each in a tenth of a second or more."""
    user = run(accounts.create_user(store, SYSTEM, name, password, **flags))
    return run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
