"""Who is calling: the check behind every request that carries credentials.

A bearer credential is either a personal API token (``salon_…``, no dots) or a JSON Web Token (three
dot-separated parts): an access
token of the hub's own sign-in provider, or one from the configured outside provider. Failures
count against the caller's address; too many and its bad credentials get 429 until the window
passes, while good ones still work.
"""

from __future__ import annotations

from typing import Protocol

from hub.errors import Unauthenticated
from hub.services.identity.tokens import PrincipalCache, parse_bearer, principal_for_token
from hub.services.policy.principal import Principal
from hub.services.policy.ratelimit import FailureLimiter
from hub.settings import Settings
from hub.store import Store


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal`, for one hub."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.cache = PrincipalCache()
        self.limiter = FailureLimiter(
            settings.auth_failures_per_address, settings.auth_failures_per_account, store
        )
        self.sessions: SessionVerifier | None = None

    async def authenticate(self, authorization: str | None, address: str | None) -> Principal:
        """The caller behind the credential. A valid one always goes through, even from an
        address that failed too often (everyone behind one proxy shares it); a bad one from
        such an address gets 429 instead of 401. Checking costs one hash and one lookup."""
        try:
            secret = parse_bearer(authorization)
            if secret.count(".") != 2:
                principal = await principal_for_token(self.store, secret, self.cache)
            elif self.sessions is not None:
                principal = await self.sessions.principal(secret)
            else:
                raise Unauthenticated("This bearer token is unknown, expired or revoked.")
        except Unauthenticated:
            if authorization:  # a missing header is not a guess
                await self.limiter.check(address)
                await self.limiter.fail(address)
            raise
        return principal.at(address)


class SessionVerifier(Protocol):
    """Checks JSON Web Tokens; ``hub.auth.sessions`` provides the implementation."""

    async def principal(self, token: str) -> Principal: ...
