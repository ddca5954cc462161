"""Checking JSON Web Tokens: the hub's own, and those of an outside OpenID Connect provider.

Every check is strict: a fixed list of asymmetric algorithms (never ``none``, never HMAC, so a
public key can never be used as a shared secret), the issuer, the audience, expiry and
not-before with a small leeway, and a size cap before anything is parsed. An outside
provider's keys come from its JWKS, kept for ``ttl`` seconds; an unknown key id triggers a
refetch, at most once per ``min_interval``, and concurrent refetches share one request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hub.errors import Unauthenticated

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 30

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and not credential.startswith("salon_")


def unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, NOT verified: only to choose which issuer's keys to verify with."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated(f"The token is larger than {MAX_TOKEN_BYTES} bytes.")
    try:
        compact = jws.extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        raise Unauthenticated("The bearer token is not a well-formed JWT.") from None
    if not isinstance(claims, dict):
        raise Unauthenticated("The bearer token is not a well-formed JWT.")
    return dict(compact.headers()), claims


def verify(
    token: str, keys: KeySet, *, issuer: str, audiences: Sequence[str], now: float | None = None
) -> dict[str, Any]:
    """The claims of ``token`` when it is signed by one of ``keys`` and valid now for
    ``issuer`` and one of ``audiences``; Unauthenticated otherwise (saying why)."""
    header, _ = unverified_claims(token)
    if header.get("alg") not in ALGORITHMS:
        raise Unauthenticated(
            f"Tokens signed with {header.get('alg')!r} are not accepted; use one of "
            f"{', '.join(ALGORITHMS)}."
        )
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise Unauthenticated(f"The token's signature does not verify ({exc.error}).") from None
    registry = jwt.JWTClaimsRegistry(
        now=int(now if now is not None else time.time()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise Unauthenticated(f"The token is not valid: {exc.description or exc.error}.") from None
    audience = decoded.claims.get("aud")
    presented = [audience] if isinstance(audience, str) else list(audience or [])
    if not set(presented) & set(audiences):
        raise Unauthenticated("The token was issued for another audience.")
    return decoded.claims


class JwksCache:
    """An outside provider's public keys, refreshed sparingly and one fetch at a time."""

    def __init__(
        self, jwks_uri: str, fetch: Fetch, *, ttl: float = 3600.0, min_interval: float = 30.0
    ) -> None:
        self.jwks_uri = jwks_uri
        self.ttl = ttl
        self.min_interval = min_interval
        self._fetch = fetch
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")  # last successful fetch: the keys' age
        self._tried_at = float("-inf")  # last attempt, successful or not: paces refetches
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def _refresh(self, stale_before: float) -> None:
        async with self._lock:  # single flight: later callers find the result of the first
            if self._tried_at > stale_before:
                return  # someone tried while we waited; a failed try counts too
            if time.monotonic() - self._tried_at < self.min_interval and self._keys is not None:
                return
            try:
                found = (await self._fetch(self.jwks_uri)).get("keys")
                if not isinstance(found, list):
                    raise ValueError("the key set has no list of keys")
                keys = KeySet.import_key_set({"keys": found})
            except Exception as exc:
                if self._keys is None:
                    raise Unauthenticated(
                        f"The sign-in provider's keys cannot be fetched ({type(exc).__name__})."
                    ) from None
                return  # keep serving the keys we have
            finally:
                self._tried_at = time.monotonic()
            self.fetches += 1
            self._keys, self._fetched_at = keys, time.monotonic()

    async def keys(self, kid: str | None) -> KeySet:
        """Keys that should include ``kid``: cached ones when fresh and knowing it."""
        started = time.monotonic()
        fresh = self._keys is not None and started - self._fetched_at < self.ttl
        known = self._keys is not None and (
            kid is None or any(k.kid == kid for k in self._keys.keys)
        )
        if not (fresh and known):
            await self._refresh(stale_before=started)
        if self._keys is None:
            raise Unauthenticated("The sign-in provider's keys are not available.")
        return self._keys
