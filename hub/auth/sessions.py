"""Checking JSON Web Tokens on API requests: the hub's own access tokens and, when one is
configured, an outside provider's (Okta, Entra ID, Keycloak, Google, ...).

The hub's tokens must be access tokens (``typ: at+jwt``) for the hub, and their sign-in
session must still be open. An outside provider's tokens must come from its issuer, for the
configured audience, signed by a key in its JWKS; the person gets a Salon account at first
sight, and the provider's group claim names the Salon groups they are in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from hub.auth import jwt_check
from hub.auth.keys import KeyRing
from hub.clock import now
from hub.errors import Unauthenticated
from hub.services.identity import accounts, sign_ins
from hub.services.identity.tokens import PrincipalCache, principal_for_user
from hub.services.policy.principal import Principal

if TYPE_CHECKING:
    from hub.store import Store


@dataclasses.dataclass
class OutsideProvider:
    """An outside OpenID Connect provider, as found from its discovery document."""

    issuer: str
    audiences: tuple[str, ...]
    groups_claim: str
    keys: jwt_check.JwksCache


async def fetch_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


async def discover(
    discovery_url: str, audiences: Sequence[str], groups_claim: str
) -> OutsideProvider:
    """Read an outside provider's discovery document (issuer and JWKS address)."""
    document = await fetch_json(discovery_url)
    return OutsideProvider(
        issuer=str(document["issuer"]),
        audiences=tuple(audiences),
        groups_claim=groups_claim,
        keys=jwt_check.JwksCache(str(document["jwks_uri"]), fetch_json),
    )


class Sessions:
    """The hub's :class:`~hub.services.identity.authentication.SessionVerifier`."""

    def __init__(
        self,
        store: Store,
        keys: KeyRing,
        issuer: str,
        cache: PrincipalCache,
        outside: OutsideProvider | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.issuer = issuer.rstrip("/")
        self.cache = cache
        self.outside = outside

    async def principal(self, token: str) -> Principal:
        key = "jwt:" + hashlib.sha256(token.encode()).hexdigest()
        cached = self.cache.get(key, now())
        if cached is not None:
            return cached
        header, claims = jwt_check.unverified_claims(token)
        issuer = str(claims.get("iss", "")).rstrip("/")
        if issuer == self.issuer:
            principal, expires = await self._own(token, header)
        elif self.outside is not None and issuer == self.outside.issuer.rstrip("/"):
            principal, expires = await self._outside(token, header, self.outside)
        else:
            raise Unauthenticated("Tokens from this issuer are not accepted here.")
        self.cache.put(key, principal, expires)
        return principal

    async def _own(self, token: str, header: dict[str, Any]) -> tuple[Principal, datetime]:
        if header.get("typ") != "at+jwt":
            raise Unauthenticated("Send an access token, not an ID token.")
        if header.get("kid") not in self.keys.kids:
            await asyncio.to_thread(self.keys.look_for, header.get("kid"))
        claims = jwt_check.verify(
            token, self.keys.key_set, issuer=self.issuer, audiences=[self.issuer]
        )
        # A token's person is its session's person, and both must still be live.
        found = await sign_ins.session_person(
            self.store, str(claims.get("sid", "")), str(claims["sub"])
        )
        if found is None:
            raise Unauthenticated("This sign-in has ended; please sign in again.")
        session, user = found
        principal = await principal_for_user(
            self.store, user, auth_method="session", auth_id=session.id
        )
        return principal, _expiry(claims)

    async def _outside(
        self, token: str, header: dict[str, Any], provider: OutsideProvider
    ) -> tuple[Principal, datetime]:
        keys = await provider.keys.keys(header.get("kid"))
        claims = jwt_check.verify(token, keys, issuer=provider.issuer, audiences=provider.audiences)
        name = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
        email, display = claims.get("email"), claims.get("name")
        user = await accounts.user_from_provider(
            self.store,
            provider.issuer,
            str(claims["sub"]),
            name,
            email if isinstance(email, str) else None,
            display if isinstance(display, str) else None,
        )
        if user.disabled_at is not None:
            raise Unauthenticated("This account is disabled in Salon.")
        groups = claims.get(provider.groups_claim) or []
        claimed = [str(g) for g in groups] if isinstance(groups, list) else [str(groups)]
        principal = await principal_for_user(
            self.store,
            user,
            auth_method="session",
            auth_id=str(claims.get("jti") or claims.get("sid") or "")[:100] or None,
            claimed_groups=claimed[:200],
        )
        return principal, _expiry(claims)


_LATEST_EXPIRY = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp())


def _expiry(claims: dict[str, Any]) -> datetime:
    # A signed exp centuries away is valid but beyond what datetime holds: cap it.
    return datetime.fromtimestamp(min(int(claims["exp"]), _LATEST_EXPIRY), UTC)
