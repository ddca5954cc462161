"""A JWT attack matrix, with real keys and real signatures and no stand-ins for Salon code.

1. :func:`hub.auth.jwt_check.verify` against a real :class:`KeyRing`: what it accepts, and
   every classic forgery it must refuse.
2. The whole hub, with an outside OpenID Connect provider served on a local port: its tokens
   sign people in (with their groups), forgeries get 401; the hub's own access tokens are
   refused when they are ID tokens or their session has ended.
3. :class:`JwksCache`: TTL, refetch on an unknown key id at most once per ``min_interval``,
   one fetch for concurrent callers, and cached keys kept while the provider is down.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth import jwt_check
from hub.auth.clients import DASHBOARD_CLIENT_ID
from hub.auth.keys import KeyRing
from hub.demo import PROJECTS, load_people
from hub.errors import Unauthenticated
from hub.services.identity import accounts
from hub.services.identity.tokens import create_admin_token_sync
from hub.services.policy import access
from hub.services.policy.keep import FolderKeep
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import projects, runs
from hub.settings import Settings
from hub.store import Store, open_store
from tests.inprocess import DEMO_PASSWORD

HUB = "http://127.0.0.1:8000"  # Settings().url: the issuer and audience of the hub's tokens
CALLBACK = "http://127.0.0.1:8501/oauth2callback"
NOW = 1_800_000_000  # a fixed "now" for the unit matrix (verify takes it as a parameter)
ISSUER = "https://idp.example.com"
AUDIENCE = "salon-api"
LEEWAY = jwt_check.LEEWAY_SECONDS


# -- building tokens by hand ---------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64url(json.dumps(value).encode())


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{segment(header)}.{segment(claims)}.{signature}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HMAC-signed token, built without a JOSE library (which would refuse an RSA key)."""
    signing_input = f"{segment({**header, 'alg': 'HS256'})}.{segment(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def public_secrets(key: RSAKey) -> dict[str, bytes]:
    """What an attacker knows of an RSA public key, as bytes a confused verifier might use as
    an HMAC secret."""
    public = key.as_dict(private=False)
    return {
        "pem": key.as_pem(private=False),
        "jwk": json.dumps(public).encode(),
        "n": str(public["n"]).encode(),
    }


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
    )


def sign(key: RSAKey, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT", **header}, claims, key)


# -- 1. verify() against a real key ring -----------------------------------------------------


@dataclasses.dataclass
class Kit:
    ring: KeyRing
    stranger: RSAKey  # another RSA key that claims the ring's kid

    @property
    def key(self) -> RSAKey:
        return self.ring.signing_key

    @property
    def header(self) -> dict[str, Any]:
        return {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Good claims, with ``changes`` applied (None removes a claim)."""
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": NOW - 5,
            "exp": NOW + 300,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, **changes: Any) -> str:
        return self.ring.sign_jwt(self.claims(**changes))


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    ring = KeyRing(FolderKeep(tmp_path_factory.mktemp("ring")))
    return Kit(ring, rsa_key(ring.signing_key.kid))


def check(kit: Kit, token: str, now: float = NOW) -> dict[str, Any]:
    return jwt_check.verify(token, kit.ring.key_set, issuer=ISSUER, audiences=[AUDIENCE], now=now)


def _swap_payload(kit: Kit) -> str:
    """Header and payload of one genuine token, signature of another."""
    mine, admins = kit.token(sub="user-1"), kit.token(sub="admin")
    return ".".join(admins.split(".")[:2] + mine.split(".")[2:])


def _edit_payload(kit: Kit) -> str:
    header, _, signature = kit.token().split(".")
    return f"{header}.{segment(kit.claims(sub='admin', exp=NOW + 10**6))}.{signature}"


def _swap_alg(kit: Kit, alg: str) -> str:
    _, payload, signature = kit.token().split(".")
    return f"{segment({**kit.header, 'alg': alg})}.{payload}.{signature}"


Forge = Callable[[Kit], str]
SIGNED_ATTACKS: list[Any] = [
    pytest.param(lambda k: k.token(iat=NOW - 900, exp=NOW - LEEWAY - 30), id="expired"),
    pytest.param(lambda k: k.token(iat=NOW - 900, exp=NOW - LEEWAY - 1), id="expired-leeway+1s"),
    pytest.param(lambda k: k.token(nbf=NOW + LEEWAY + 30), id="not-yet-valid-nbf"),
    pytest.param(lambda k: k.token(iat=NOW + 3600), id="issued-in-the-future"),
    pytest.param(lambda k: k.token(iss="https://evil.example.com"), id="wrong-issuer"),
    pytest.param(lambda k: k.token(iss=ISSUER + "/"), id="issuer-with-extra-slash"),
    pytest.param(lambda k: k.token(aud="other-api"), id="wrong-audience"),
    pytest.param(
        lambda k: k.token(aud=["other-api", "third-api"]), id="audience-list-without-ours"
    ),
    pytest.param(lambda k: k.token(aud=None), id="missing-aud"),
    pytest.param(lambda k: k.token(exp=None), id="missing-exp"),
    pytest.param(lambda k: k.token(sub=None), id="missing-sub"),
    pytest.param(lambda k: k.token(iss=None), id="missing-iss"),
    pytest.param(lambda k: k.token(exp="tomorrow"), id="exp-not-a-number"),
    pytest.param(lambda k: k.token(pad="x" * (jwt_check.MAX_TOKEN_BYTES + 1)), id="oversized"),
]
FORGED_ATTACKS: list[Any] = [
    pytest.param(lambda k: unsigned({"alg": "none", "typ": "JWT"}, k.claims()), id="alg-none"),
    pytest.param(lambda k: unsigned({"alg": "None"}, k.claims()), id="alg-None"),
    pytest.param(lambda k: unsigned({"alg": "NONE"}, k.claims()), id="alg-NONE"),
    pytest.param(
        lambda k: unsigned({"alg": "none"}, k.claims(), k.token().split(".")[2]),
        id="alg-none-with-a-real-signature",
    ),
    pytest.param(lambda k: unsigned({"typ": "JWT"}, k.claims()), id="no-alg"),
    *[
        pytest.param(
            lambda k, form=form: hs256(k.header, k.claims(), public_secrets(k.key)[form]),
            id=f"hs256-keyed-with-public-{form}",
        )
        for form in ("pem", "jwk", "n")
    ],
    pytest.param(lambda k: _swap_alg(k, "RS512"), id="alg-swapped-rs256-to-rs512"),
    pytest.param(lambda k: _swap_alg(k, "PS256"), id="alg-swapped-rs256-to-ps256"),
    pytest.param(lambda k: sign(k.stranger, k.claims()), id="other-key-same-kid"),
    pytest.param(lambda k: sign(k.stranger, k.claims(), kid="no-such-kid"), id="unknown-kid"),
    pytest.param(
        lambda k: jwt.encode({"alg": "RS256"}, k.claims(), k.stranger), id="other-key-no-kid"
    ),
    pytest.param(_swap_payload, id="payload-with-another-tokens-signature"),
    pytest.param(_edit_payload, id="payload-edited-signature-kept"),
    pytest.param(lambda k: k.token()[:-6] + "AAAAAA", id="signature-truncated-and-padded"),
    pytest.param(lambda k: k.token().rsplit(".", 1)[0] + ".", id="signature-stripped"),
]
NOT_UTF8 = b64url(bytes([0xFF, 0xFE]))
GARBAGE = [
    pytest.param("", id="empty"),
    pytest.param("garbage", id="no-dots"),
    pytest.param("a.b.c", id="two-dots-not-base64-json"),
    pytest.param("..", id="two-dots-nothing-else"),
    pytest.param("x.y", id="one-dot"),
    pytest.param("a.b.c.d.e", id="four-dots"),
    pytest.param("é.é.é", id="not-ascii"),
    pytest.param(f"{segment([1, 2])}.{segment({'sub': 'x'})}.", id="header-is-a-list"),
    pytest.param(f"{segment('RS256')}.{segment({'sub': 'x'})}.", id="header-is-a-string"),
    pytest.param(f"{segment({'alg': 'RS256'})}.{segment([1])}.AAAA", id="claims-are-a-list"),
    pytest.param(f"{segment({'alg': 'RS256'})}.{b64url(b'not json')}.AAAA", id="claims-not-json"),
    pytest.param(f"{NOT_UTF8}.{segment({'sub': 'x'})}.AAAA", id="header-not-utf8"),
    pytest.param(f"{segment({'alg': 'RS256'})}.{NOT_UTF8}.AAAA", id="claims-not-utf8"),
    pytest.param("e30.e30." + "A" * 9000, id="oversized-garbage"),
]


def test_a_good_token_is_accepted(kit: Kit) -> None:
    claims = check(kit, kit.token())
    assert claims["sub"] == "user-1" and claims["iss"] == ISSUER


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": NOW - LEEWAY + 5}, id="expired-within-leeway"),
        pytest.param({"nbf": NOW + LEEWAY - 5}, id="nbf-within-leeway"),
        pytest.param({"aud": ["other-api", AUDIENCE]}, id="audience-list-with-ours"),
    ],
)
def test_tolerated_variations_are_accepted(kit: Kit, changes: dict[str, Any]) -> None:
    assert check(kit, kit.token(**changes))["sub"] == "user-1"


def test_the_same_token_expires_with_the_clock(kit: Kit) -> None:
    token = kit.token(exp=NOW + 60)
    assert check(kit, token, now=NOW + 60 + LEEWAY - 1)["sub"] == "user-1"
    with pytest.raises(Unauthenticated, match="expired"):
        check(kit, token, now=NOW + 60 + LEEWAY + 1)


@pytest.mark.parametrize("forge", SIGNED_ATTACKS + FORGED_ATTACKS)
def test_verify_refuses(kit: Kit, forge: Forge) -> None:
    token = forge(kit)
    with pytest.raises(Unauthenticated):
        check(kit, token)


@pytest.mark.parametrize("token", GARBAGE)
def test_garbage_is_refused_before_anything_else(kit: Kit, token: str) -> None:
    with pytest.raises(Unauthenticated):
        jwt_check.unverified_claims(token)
    with pytest.raises(Unauthenticated):
        check(kit, token)


def test_the_size_cap_applies_before_parsing(kit: Kit) -> None:
    token = kit.token(pad="x" * jwt_check.MAX_TOKEN_BYTES)
    assert len(token) > jwt_check.MAX_TOKEN_BYTES
    with pytest.raises(Unauthenticated, match="larger than"):
        jwt_check.unverified_claims(token)


def test_hmac_forgery_is_refused_by_name_before_any_key_is_tried(kit: Kit) -> None:
    token = hs256(kit.header, kit.claims(), public_secrets(kit.key)["pem"])
    with pytest.raises(Unauthenticated, match="'HS256' are not accepted"):
        check(kit, token)


# -- 2. the whole hub, with an outside provider on a local port ------------------------------


class LocalProvider:
    """A minimal OpenID provider: a discovery document and a JWKS, over real HTTP."""

    def __init__(self) -> None:
        self.key = rsa_key("idp-key-1")
        self.jwks_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": provider.issuer,
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif self.path == "/jwks":
                    provider.jwks_requests += 1
                    body = {"keys": [provider.key.as_dict(private=False)]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def claims(self, **changes: Any) -> dict[str, Any]:
        at = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "ext-666",
            "iat": at,
            "exp": at + 600,
            "preferred_username": "mallory",
            "groups": ["vision-team"],
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, **changes: Any) -> str:
        return sign(self.key, self.claims(**changes))


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalProvider]:
    provider = LocalProvider()
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()
        provider.thread.join(timeout=10)


@pytest.fixture(scope="module")
def stranger() -> RSAKey:
    return rsa_key("idp-key-1")  # the provider's kid, another key


@dataclasses.dataclass
class Hub:
    http: TestClient
    store: Store
    admin_token: str
    data_dir: Path

    def graphql(self, token: str, query: str) -> httpx.Response:
        return self.http.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )

    def data(self, token: str, query: str) -> dict[str, Any]:
        response = self.graphql(token, query)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        return dict(body["data"])

    def user_names(self) -> set[str]:
        return {u["name"] for u in self.data(self.admin_token, "{ users { name } }")["users"]}


def running_hub(data_dir: Path, store: Store, settings: Settings) -> Iterator[Hub]:
    admin = create_admin_token_sync(store, "tests")
    try:
        app = create_app(settings, store)
        with TestClient(app, base_url=HUB, raise_server_exceptions=False) as http:
            yield Hub(http, store, admin, data_dir)
    finally:
        store.close()


async def _vision_team_reads_vision(store: Store) -> None:
    await runs.create_run(store, SYSTEM, runs.NewRun("vision", "e"))
    await accounts.create_group(store, SYSTEM, "vision-team")
    await access.grant_role(store, SYSTEM, "vision", "group", "vision-team", "viewer")


@pytest.fixture(scope="module")
def outside_hub(tmp_path_factory: pytest.TempPathFactory, idp: LocalProvider) -> Iterator[Hub]:
    data_dir = tmp_path_factory.mktemp("outside-hub")
    settings = Settings(
        data_dir=data_dir,
        oidc_discovery_url=f"{idp.issuer}/.well-known/openid-configuration",
        oidc_audience=AUDIENCE,
        oidc_groups_claim="groups",
        auth_failures_per_address="1000/minute",  # this module sends many bad tokens
    )
    store = open_store(settings.database_path)
    asyncio.run(_vision_team_reads_vision(store))
    yield from running_hub(data_dir, store, settings)


def test_an_outside_token_signs_a_person_in_with_their_groups(
    idp: LocalProvider, outside_hub: Hub
) -> None:
    token = idp.token(sub="ext-1", preferred_username="zoe", groups=["vision-team"])
    me = outside_hub.data(token, "{ me { user { name } authMethod } }")["me"]
    assert me == {"user": {"name": "zoe"}, "authMethod": "session"}
    names = [p["name"] for p in outside_hub.data(token, "{ projects { name } }")["projects"]]
    assert names == ["vision"], "the groups claim names the Salon group with a role on vision"
    # The same person with a token that claims no group: the same account, no projects.
    bare = idp.token(sub="ext-1", preferred_username="zoe", groups=[])
    assert outside_hub.data(bare, "{ me { user { name } } }")["me"]["user"]["name"] == "zoe"
    assert outside_hub.data(bare, "{ projects { name } }")["projects"] == []


HubForge = Callable[[LocalProvider, RSAKey], str]
HUB_ATTACKS: list[Any] = [
    pytest.param(
        lambda p, s: p.token(iat=int(time.time()) - 900, exp=int(time.time()) - LEEWAY - 60),
        id="expired",
    ),
    pytest.param(lambda p, s: p.token(aud="someone-elses-api"), id="wrong-audience"),
    pytest.param(lambda p, s: p.token(iss="https://evil.example.com"), id="wrong-issuer"),
    pytest.param(
        lambda p, s: p.token(iss=HUB, aud=HUB, sid="no-such-session"),
        id="outside-key-claiming-the-hubs-issuer",
    ),
    pytest.param(
        lambda p, s: sign(p.key, p.claims(iss=HUB, aud=HUB, sid="x"), typ="at+jwt"),
        id="outside-key-forging-a-hub-access-token",
    ),
    pytest.param(lambda p, s: unsigned({"alg": "none", "typ": "JWT"}, p.claims()), id="alg-none"),
    *[
        pytest.param(
            lambda p, s, form=form: hs256(
                {"kid": p.key.kid, "typ": "JWT"}, p.claims(), public_secrets(p.key)[form]
            ),
            id=f"hs256-keyed-with-public-{form}",
        )
        for form in ("pem", "jwk")
    ],
    pytest.param(lambda p, s: sign(s, p.claims(), kid="rogue-key"), id="unknown-kid"),
    pytest.param(lambda p, s: sign(s, p.claims()), id="other-key-same-kid"),
    pytest.param(lambda p, s: p.token(sub=None), id="missing-sub"),
    pytest.param(lambda p, s: "a.b.c", id="two-dot-garbage"),
]


@pytest.mark.parametrize("forge", HUB_ATTACKS)
def test_the_hub_refuses(
    idp: LocalProvider, stranger: RSAKey, outside_hub: Hub, forge: HubForge
) -> None:
    response = outside_hub.graphql(forge(idp, stranger), "{ me { user { name } } }")
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert "mallory" not in outside_hub.user_names(), "a refused token made no account"


@pytest.mark.parametrize(
    ("sub", "changes", "email"),
    [
        pytest.param("ext-odd-1", {"name": 5}, None, id="name-not-a-string"),
        pytest.param("ext-odd-2", {"email": ["a@b.example"]}, None, id="email-a-list"),
        pytest.param("ext-odd-3", {"email": "o@b.example"}, "o@b.example", id="email-a-string"),
        pytest.param("ext-odd-4", {"exp": 10**20}, None, id="exp-beyond-year-9999"),
    ],
)
def test_odd_claims_in_a_genuine_token_do_not_break_the_hub(
    idp: LocalProvider, outside_hub: Hub, sub: str, changes: dict[str, Any], email: str | None
) -> None:
    """The provider signed these, so they sign in; odd values are dropped or capped (these
    were 500s: a number as ``name``, an ``exp`` past what a datetime holds)."""
    token = idp.token(sub=sub, preferred_username=sub, **changes)
    me = outside_hub.data(token, "{ me { user { name email } } }")["me"]
    assert me == {"user": {"name": sub, "email": email}}


def test_unknown_kids_do_not_make_the_hub_refetch_keys_at_once(
    idp: LocalProvider, stranger: RSAKey, outside_hub: Hub
) -> None:
    good = idp.token(sub="ext-2", preferred_username="yuki")
    assert outside_hub.graphql(good, "{ me { user { name } } }").status_code == 200
    for n in range(10):
        rogue = sign(stranger, idp.claims(jti=f"t{n}"), kid=f"rogue-{n}")
        assert outside_hub.graphql(rogue, "{ me { user { name } } }").status_code == 401
    assert idp.jwks_requests == 1, "keys are fetched once; unknown kids wait for min_interval"


# -- the hub's own tokens -------------------------------------------------------------------


async def _people(store: Store) -> None:
    for name, description in PROJECTS.items():
        await projects.ensure_project(store, SYSTEM, name, description)
    await load_people(store, SYSTEM, DEMO_PASSWORD)


@pytest.fixture(scope="module")
def own_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data_dir = tmp_path_factory.mktemp("own-hub")
    settings = Settings(data_dir=data_dir, auth_failures_per_address="1000/minute")
    store = open_store(settings.database_path)
    asyncio.run(_people(store))
    yield from running_hub(data_dir, store, settings)


def code_flow(hub: Hub, name: str) -> dict[str, Any]:
    """Sign in at the hub's login page and run the code flow with PKCE, as the dashboard."""
    form = hub.http.get("/login").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    signed_in = hub.http.post(
        "/login",
        data={"username": name, "password": DEMO_PASSWORD, "csrf": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    verifier = secrets.token_urlsafe(48)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    redirect = hub.http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DASHBOARD_CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid profile",
            "state": "s",
            "nonce": secrets.token_hex(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        follow_redirects=False,
    )
    assert redirect.status_code == 302, redirect.text
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    secret = (hub.data_dir / "dashboard-client-secret").read_text().strip()
    response = hub.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(DASHBOARD_CLIENT_ID, secret),
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def test_the_hub_refuses_its_own_id_tokens(own_hub: Hub) -> None:
    tokens = code_flow(own_hub, "ben.okafor")
    assert own_hub.graphql(tokens["access_token"], "{ me { user { name } } }").status_code == 200
    refused = own_hub.graphql(tokens["id_token"], "{ me { user { name } } }")
    assert refused.status_code == 401 and "not an ID token" in refused.json()["message"]
    # The access token's own claims, re-signed by the hub's key as a plain JWT: typ decides.
    ring = KeyRing(FolderKeep(own_hub.data_dir))
    claims = jwt.decode(tokens["access_token"], ring.key_set, algorithms=["RS256"]).claims
    for typ in ("JWT", "application/jwt", "id_token+jwt"):
        retyped = own_hub.graphql(ring.sign_jwt(claims, typ=typ), "{ me { user { name } } }")
        assert retyped.status_code == 401, typ
    assert own_hub.data(ring.sign_jwt(claims, typ="at+jwt"), "{ me { user { name } } }") == {
        "me": {"user": {"name": "ben.okafor"}}
    }, "the same claims as an access token are fine: the refusals above were about typ"


def test_the_hub_refuses_tokens_of_ended_sessions(own_hub: Hub) -> None:
    first, second = code_flow(own_hub, "ana.silva"), code_flow(own_hub, "ana.silva")
    query = "{ me { user { name } } }"
    assert own_hub.graphql(first["access_token"], query).status_code == 200  # now cached
    ring = KeyRing(FolderKeep(own_hub.data_dir))
    claims = jwt.decode(first["access_token"], ring.key_set, algorithms=["RS256"]).claims
    unknown = ring.sign_jwt({**claims, "sid": "no-such-session"}, typ="at+jwt")
    assert own_hub.graphql(unknown, query).status_code == 401, "a sid must name a session"
    logout = own_hub.http.get(
        "/oauth/logout",
        params={
            "id_token_hint": first["id_token"],
            "post_logout_redirect_uri": CALLBACK,
            "client_id": DASHBOARD_CLIENT_ID,
        },
        follow_redirects=False,
    )
    assert logout.status_code == 302, logout.text
    for tokens in (first, second):  # one was cached before the logout, one never used
        ended = own_hub.graphql(tokens["access_token"], query)
        assert ended.status_code == 401 and "has ended" in ended.json()["message"]


# -- 3. the JWKS cache ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def jwks_keys() -> dict[str, RSAKey]:
    return {kid: rsa_key(kid) for kid in ("k1", "k2")}


class CountingFetch:
    """An outside provider's JWKS endpoint: counts calls, may be slow or down."""

    def __init__(self, keys: list[RSAKey], delay: float = 0.0) -> None:
        self.keys = keys
        self.delay = delay
        self.down = False
        self.calls = 0

    async def __call__(self, uri: str) -> dict[str, Any]:
        assert uri == "https://idp.example.com/jwks"
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise httpx.ConnectError("the provider is down")
        return {"keys": [key.as_dict(private=False) for key in self.keys]}


def cache(
    fetch: CountingFetch, ttl: float = 3600.0, min_interval: float = 30.0
) -> jwt_check.JwksCache:
    return jwt_check.JwksCache(
        "https://idp.example.com/jwks", fetch, ttl=ttl, min_interval=min_interval
    )


def kids(keys: KeySet) -> set[str | None]:
    return {key.kid for key in keys.keys}


def test_keys_are_kept_for_their_ttl(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=3600, min_interval=0)

    async def lookups() -> None:
        for _ in range(20):
            assert kids(await keys.keys("k1")) == {"k1"}
            assert kids(await keys.keys(None)) == {"k1"}

    asyncio.run(lookups())
    assert fetch.calls == 1 and keys.fetches == 1


def test_keys_are_fetched_again_after_their_ttl(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=0.05, min_interval=0)

    async def lookups() -> None:
        await keys.keys("k1")
        await asyncio.sleep(0.1)
        await keys.keys("k1")

    asyncio.run(lookups())
    assert fetch.calls == 2 and keys.fetches == 2


def test_unknown_kids_wait_for_min_interval(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=3600, min_interval=3600)

    async def lookups() -> None:
        await keys.keys("k1")
        fetch.keys = [jwks_keys["k1"], jwks_keys["k2"]]  # the provider rotates
        for n in range(50):
            assert kids(await keys.keys(f"unknown-{n}")) == {"k1"}
        assert kids(await keys.keys("k2")) == {"k1"}, "not refetched within min_interval"

    asyncio.run(lookups())
    assert fetch.calls == 1


def test_an_unknown_kid_refetches_once_per_burst(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=3600, min_interval=0.5)

    async def lookups() -> None:
        k1, k2 = jwks_keys["k1"], jwks_keys["k2"]
        await keys.keys("k1")
        fetch.keys = [k1, k2]  # the provider rotates
        await asyncio.sleep(0.6)
        found = await keys.keys("k2")  # unknown kid, min_interval passed: one refetch
        assert kids(found) == {"k1", "k2"}
        token = sign(k2, {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "exp": time.time() + 60})
        assert jwt_check.verify(token, found, issuer=ISSUER, audiences=[AUDIENCE])["sub"] == "s"
        for n in range(50):  # a burst of unknown kids right after: no more fetches
            await keys.keys(f"rogue-{n}")
        for _ in range(10):
            await keys.keys("k2")  # known now

    asyncio.run(lookups())
    assert fetch.calls == 2


def test_concurrent_lookups_share_one_fetch(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]], delay=0.2)
    keys = cache(fetch, ttl=3600, min_interval=0)

    async def lookups() -> None:
        found = await asyncio.gather(*(keys.keys("k1") for _ in range(20)))
        assert all(kids(k) == {"k1"} for k in found)
        fetch.keys = [jwks_keys["k1"], jwks_keys["k2"]]
        found = await asyncio.gather(*(keys.keys("k2") for _ in range(20)))
        assert all(kids(k) == {"k1", "k2"} for k in found)

    asyncio.run(lookups())
    assert fetch.calls == 2 and keys.fetches == 2


def test_cached_keys_are_served_while_the_provider_is_down(jwks_keys: dict[str, RSAKey]) -> None:
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=0.05, min_interval=0)

    async def lookups() -> None:
        await keys.keys("k1")
        fetch.down = True
        await asyncio.sleep(0.1)
        assert kids(await keys.keys("k1")) == {"k1"}, "stale, but better than nothing"
        assert kids(await keys.keys("k2")) == {"k1"}, "an unknown kid then fails to verify"
        fetch.down = False
        assert kids(await keys.keys("k1")) == {"k1"}

    asyncio.run(lookups())
    assert fetch.calls == 4, "each lookup past the ttl tried (min_interval is 0 here)"
    assert keys.fetches == 2, "fetches counts the successful ones"


def test_a_provider_outage_is_not_hammered(jwks_keys: dict[str, RSAKey]) -> None:
    """Past the ttl with the provider down, concurrent callers share one failed attempt, and
    callers right after it do not try again within min_interval."""
    fetch = CountingFetch([jwks_keys["k1"]])
    keys = cache(fetch, ttl=0.3, min_interval=0.3)

    async def lookups() -> None:
        await keys.keys("k1")
        await asyncio.sleep(0.35)  # the keys are stale and min_interval has passed
        fetch.down, fetch.delay = True, 0.2
        found = await asyncio.gather(*(keys.keys("k1") for _ in range(20)))
        assert all(kids(k) == {"k1"} for k in found)
        assert fetch.calls == 2, "one shared attempt for 20 concurrent callers"
        for _ in range(20):
            assert kids(await keys.keys("k1")) == {"k1"}
        assert fetch.calls == 2, "no new attempt within min_interval of the failed one"

    asyncio.run(lookups())


def test_no_keys_at_all_is_unauthenticated() -> None:
    fetch = CountingFetch([])
    fetch.down = True
    keys = cache(fetch)

    async def lookups() -> None:
        with pytest.raises(Unauthenticated, match="cannot be fetched"):
            await keys.keys("k1")

    asyncio.run(lookups())
    assert fetch.calls == 1 and keys.fetches == 0
