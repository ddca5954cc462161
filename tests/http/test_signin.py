"""The hub's own OpenID Connect provider: the whole code flow with PKCE, as a client runs it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.clients import DASHBOARD_CLIENT_ID
from hub.auth.keys import KeyRing
from hub.services.identity import tokens as hub_tokens
from hub.services.policy.keep import FolderKeep
from hub.settings import Settings
from hub.store import Store, open_store
from tests.demo_store import DEMO_PASSWORD, with_demo_team

HUB = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:8501/oauth2callback"


class Provider:
    def __init__(self, http: TestClient, client_secret: str, store: Store, data_dir: Path) -> None:
        self.http = http
        self.client_secret = client_secret
        self.store = store
        self.data_dir = data_dir

    def sign_in(self, name: str, password: str = DEMO_PASSWORD) -> Any:
        form = self.http.get("/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        return self.http.post(
            "/login",
            data={"username": name, "password": password, "csrf": csrf, "next": "/"},
            follow_redirects=False,
        )

    def authorize(self, verifier: str, **extra: str) -> Any:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": DASHBOARD_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "state": "s1",
            "nonce": secrets.token_hex(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }
        return self.http.get("/oauth/authorize", params=params, follow_redirects=False)

    def tokens(self, **form: str) -> Any:
        return self.http.post(
            "/oauth/token", data=form, auth=(DASHBOARD_CLIENT_ID, self.client_secret)
        )

    def code_flow(self, name: str) -> dict[str, Any]:
        assert self.sign_in(name).status_code == 303
        verifier = secrets.token_urlsafe(48)
        redirect = self.authorize(verifier)
        assert redirect.status_code == 302, redirect.text
        code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
        response = self.tokens(
            grant_type="authorization_code",
            code=code,
            redirect_uri=CALLBACK,
            code_verifier=verifier,
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def projects(self, access_token: str) -> Any:
        return self.http.post(
            "/graphql",
            json={"query": "{ projects { name } }"},
            headers={"Authorization": f"Bearer {access_token}"},
        )


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Provider]:
    with_demo_team(tmp_path)
    settings = Settings(data_dir=tmp_path, auth_failures_per_account="3/minute")
    store = open_store(settings.database_path)
    try:
        with TestClient(create_app(settings, store), base_url=HUB) as http:
            secret = (tmp_path / "dashboard-client-secret").read_text().strip()
            yield Provider(http, secret, store, tmp_path)
    finally:
        store.close()


def test_discovery_and_keys(provider: Provider) -> None:
    meta = provider.http.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == HUB
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = provider.http.get("/oauth/jwks").json()["keys"]
    assert keys and all("d" not in key for key in keys), "only public keys are published"


def test_code_flow_gives_tokens_that_the_api_accepts(provider: Provider) -> None:
    tokens = provider.code_flow("ana.silva")
    keys = KeySet.import_key_set(provider.http.get("/oauth/jwks").json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert id_token.claims["preferred_username"] == "ana.silva"
    assert id_token.claims["aud"] == DASHBOARD_CLIENT_ID
    access = jwt.decode(tokens["access_token"], keys, algorithms=["RS256"])
    assert access.header["typ"] == "at+jwt" and access.claims["aud"] == HUB
    response = provider.projects(tokens["access_token"])
    assert response.status_code == 200, response.text
    names = {p["name"] for p in response.json()["data"]["projects"]}
    assert names == {"vision-defects"}, "ana sees her team's project only"
    # The ID token is for the dashboard, not for the API.
    assert provider.projects(tokens["id_token"]).status_code == 401


def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_session(
    provider: Provider,
) -> None:
    """A rotated refresh token presented again means someone holds a copy: the session ends,
    with every token issued from it (RFC 6749 10.4, the OAuth security BCP)."""
    tokens = provider.code_flow("ben.okafor")
    refreshed = provider.tokens(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new_access = refreshed.json()["access_token"]
    assert provider.projects(new_access).status_code == 200
    again = provider.tokens(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert provider.projects(new_access).status_code == 401
    latest = provider.tokens(
        grant_type="refresh_token", refresh_token=refreshed.json()["refresh_token"]
    )
    assert latest.status_code == 400, "the current refresh token ended with its session"
    garbage = provider.tokens(grant_type="refresh_token", refresh_token="never-issued")
    assert garbage.status_code == 400
    assert provider.projects(provider.code_flow("ben.okafor")["access_token"]).status_code == 200


def test_logout_ends_the_session(provider: Provider) -> None:
    tokens = provider.code_flow("ben.okafor")
    refreshed = provider.tokens(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    new_access = refreshed.json()["access_token"]
    assert provider.projects(new_access).status_code == 200
    logout = provider.http.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": CALLBACK,
            "client_id": DASHBOARD_CLIENT_ID,
        },
        follow_redirects=False,
    )
    assert logout.status_code == 302 and logout.headers["location"].startswith(CALLBACK)
    assert provider.projects(new_access).status_code == 401
    assert provider.projects(tokens["access_token"]).status_code == 401


def test_pkce_is_required_and_codes_are_single_use(provider: Provider) -> None:
    assert provider.sign_in("ana.silva").status_code == 303
    without = provider.http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DASHBOARD_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid",
        },
        follow_redirects=False,
    )
    assert "error=invalid_request" in without.headers["location"]
    verifier = secrets.token_urlsafe(48)
    code = parse_qs(urlsplit(provider.authorize(verifier).headers["location"]).query)["code"][0]
    wrong = provider.tokens(
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=secrets.token_urlsafe(48),
    )
    assert wrong.status_code == 400
    code = parse_qs(urlsplit(provider.authorize(verifier).headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    first = provider.tokens(**form)
    assert first.status_code == 200
    assert provider.projects(first.json()["access_token"]).status_code == 200
    assert provider.tokens(**form).status_code == 400, "a code works once"
    # A used code presented again was leaked: what it gave is revoked (RFC 6749 4.1.2).
    assert provider.projects(first.json()["access_token"]).status_code == 401
    refresh = provider.tokens(
        grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
    )
    assert refresh.status_code == 400


def test_disabling_ends_sessions_and_tokens_for_good(provider: Provider) -> None:
    tokens = provider.code_flow("ana.silva")
    ana = asyncio.run(provider.store.users.by_name("ana.silva"))
    assert ana is not None
    principal = asyncio.run(
        hub_tokens.principal_for_user(provider.store, ana, auth_method="session", auth_id=None)
    )
    _, api_token = asyncio.run(hub_tokens.create_token(provider.store, principal, "notebook"))
    assert provider.projects(api_token).status_code == 200
    admin = hub_tokens.create_admin_token_sync(provider.store, "admin")
    for disabled in (True, False):  # as an admin does it, through the API
        done = provider.http.post(
            "/graphql",
            json={
                "query": 'mutation($d: Boolean!) { setUserDisabled(name: "ana.silva", '
                "disabled: $d) { __typename } }",
                "variables": {"d": disabled},
            },
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert done.json()["data"]["setUserDisabled"]["__typename"] == "User", done.text
    assert provider.projects(api_token).status_code == 401
    assert provider.projects(tokens["access_token"]).status_code == 401
    refresh = provider.tokens(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refresh.status_code == 400
    assert provider.projects(provider.code_flow("ana.silva")["access_token"]).status_code == 200


def test_an_access_token_must_name_its_session_s_person(provider: Provider) -> None:
    """A token signed with the hub's key that names one person and another's session."""
    bens = provider.code_flow("ben.okafor")
    ana = asyncio.run(provider.store.users.by_name("ana.silva"))
    assert ana is not None
    claims = jwt.decode(
        bens["access_token"],
        KeySet.import_key_set(provider.http.get("/oauth/jwks").json()),
        algorithms=["RS256"],
    ).claims
    keys = KeyRing(FolderKeep(provider.data_dir))
    header = {"alg": "RS256", "typ": "at+jwt", "kid": keys.signing_key.kid}
    forged = jwt.encode(header, {**claims, "sub": ana.id}, keys.signing_key)
    assert provider.projects(bens["access_token"]).status_code == 200
    assert provider.projects(forged).status_code == 401


def test_unknown_redirect_uris_are_refused_without_redirecting(provider: Provider) -> None:
    assert provider.sign_in("ana.silva").status_code == 303
    response = provider.http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DASHBOARD_CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
        },
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "evil" not in response.headers.get("location", "")


def test_signing_in_asks_for_the_password_and_limits_guesses(provider: Provider) -> None:
    first = provider.authorize(secrets.token_urlsafe(48))
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    page = provider.http.get(first.headers["location"])
    assert '<form method="post"' in page.text and "<script" not in page.text
    for _ in range(3):
        wrong = provider.sign_in("chioma.eze", "not-the-password")
        assert wrong.status_code == 401 and "do not match" in wrong.text
    limited = provider.sign_in("chioma.eze")  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert provider.sign_in("ben.okafor").status_code == 303, "other accounts are not locked"


def test_the_login_form_needs_its_csrf_token(provider: Provider) -> None:
    response = provider.http.post(
        "/login", data={"username": "ana.silva", "password": DEMO_PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 400
