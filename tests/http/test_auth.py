"""Bearer tokens on every request, with a short cache that never outlives a token."""

from __future__ import annotations

import time
from datetime import timedelta

from hub.clock import now
from hub.services.identity.tokens import PrincipalCache, create_admin_token_sync
from hub.services.policy.principal import Principal
from tests.inprocess import InProcessHub

QUERY = {"query": "{ version }"}


def test_an_expiring_token_stops_working_when_it_expires_even_if_cached(
    api: InProcessHub,
) -> None:
    secret = create_admin_token_sync(
        api.store, "short-lived", expires_at=now() + timedelta(seconds=1.5)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.http.post("/graphql", json=QUERY, headers=headers).status_code == 200
    assert api.http.post("/graphql", json=QUERY, headers=headers).status_code == 200  # cached
    time.sleep(1.6)
    expired = api.http.post("/graphql", json=QUERY, headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]


def test_the_cache_forgets_on_request_and_after_its_ttl() -> None:
    principal = Principal("u1", "ada")
    cache = PrincipalCache(ttl=60)
    cache.put("h", principal, None)
    assert cache.get("h", now()) == principal
    cache.forget("h")
    assert cache.get("h", now()) is None
    cache.put("h", principal, now() + timedelta(hours=1))
    cache.clear()
    assert cache.get("h", now()) is None
    stale = PrincipalCache(ttl=0)
    stale.put("h", principal, None)
    time.sleep(0.01)
    assert stale.get("h", now()) is None


def test_malformed_authorization_headers(api: InProcessHub) -> None:
    for header in ("Bearer", "Bearer ", "Token abc", "bearer " + "x" * 600, "Basic dXNlcjpw"):
        response = api.http.post("/graphql", json=QUERY, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
