"""API hardening: cost limit, production mode, headers, no mutations over GET, no cookie auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from graphql import parse, validate

from dashboard.operations import operations
from hub.api.schema import build_schema
from hub.settings import Settings, SettingsError, load_settings
from tests.conftest import LiveHub, start_hub
from tests.inprocess import DEMO_PASSWORD, InProcessHub, in_process_hub


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    yield from in_process_hub(tmp_path_factory.mktemp("prod"), demo=False, env="production")


def test_every_response_carries_security_headers(api: InProcessHub) -> None:
    for response in (
        api.http.get("/healthz"),
        api.http.post("/graphql", json={"query": "{ version }"}, headers=api.auth),
        api.http.post("/graphql", json={"query": "{ version }"}),  # 401
        api.http.get("/login"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    login = api.http.get("/login")
    assert "default-src 'none'" in login.headers["content-security-policy"]
    # Signing in ends with a redirect to the dashboard, which form-action must allow.
    assert "form-action 'self' http://127.0.0.1:8501" in login.headers["content-security-policy"]


def test_expensive_documents_are_refused_before_they_run(api: InProcessHub) -> None:
    query = """{ runs(first: 500) { ... on RunConnection { nodes { id
        series(keys: ["a", "b"], buckets: 2000) { steps values }
        params { key value } metrics { key lastValue } project { name
          recentRuns(limit: 100) { id params { key value } } } } } } }"""
    body = api.graphql(query, expect_errors=True)
    assert "could cost about" in body["errors"][0]["message"]
    assert "first/limit" in body["errors"][0]["message"]
    assert body.get("data") is None


def test_the_dashboards_own_operations_fit_the_cost_limit() -> None:
    schema = build_schema(Settings())._schema
    for name, document in operations().items():
        errors = validate(schema, parse(document))
        assert not errors, f"{name}: {errors}"


def test_production_hides_the_schema(production: InProcessHub, api: InProcessHub) -> None:
    introspection = {"query": "{ __schema { types { name } } }"}
    refused = production.http.post("/graphql", json=introspection, headers=production.auth)
    assert "introspection" in refused.json()["errors"][0]["message"].lower()
    allowed = api.http.post("/graphql", json=introspection, headers=api.auth)
    assert allowed.json()["data"]["__schema"]["types"]
    typo = {"query": "{ projets { name } }"}
    hint = api.http.post("/graphql", json=typo, headers=api.auth).json()["errors"][0]["message"]
    assert "Did you mean" in hint
    quiet = production.http.post("/graphql", json=typo, headers=production.auth).json()
    assert "Did you mean" not in quiet["errors"][0]["message"]
    page = production.http.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    assert "graphiql" in api.http.get("/graphql", headers={"accept": "text/html"}).text.lower()


def test_get_never_runs_a_mutation(api: InProcessHub) -> None:
    mutation = 'mutation { createRun(input: {project: "p", experiment: "e"}) { __typename } }'
    response = api.http.get("/graphql", params={"query": mutation}, headers=api.auth)
    assert response.status_code in (400, 405)
    assert api.graphql('{ project(name: "p") { name } }')["data"]["project"] is None


def test_the_sign_in_cookie_does_not_authenticate_the_api(tmp_path: Path) -> None:
    for hub in in_process_hub(tmp_path, demo=True):
        form = hub.http.get("/login").text
        csrf = form.split('name="csrf" value="')[1].split('"')[0]
        signed_in = hub.http.post(
            "/login",
            data={"username": "ana.silva", "password": DEMO_PASSWORD, "csrf": csrf},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303 and "salon_signin" in hub.http.cookies
        # A page elsewhere cannot ride on the cookie: the API wants a bearer token.
        assert (
            hub.http.post("/graphql", json={"query": "{ me { user { name } } }"}).status_code == 401
        )


AUDIT = """{ auditEvents(filter: {action: "run.create"}, first: 5) {
  ... on AuditPage { events { address } } } }"""
CREATE = 'mutation { createRun(input: {project: "p", experiment: "e"}) { __typename } }'


def addresses_of_run_creations(live: LiveHub, forwarded: str) -> list[str | None]:
    made = httpx.post(
        f"{live.url}/graphql",
        json={"query": CREATE},
        headers={"Authorization": f"Bearer {live.token}", "X-Forwarded-For": forwarded},
    )
    assert made.json()["data"]["createRun"]["__typename"] == "Run", made.text
    events = live.graphql(AUDIT)["data"]["auditEvents"]["events"]
    return [event["address"] for event in events]


def bad_tokens_until_refused(live: LiveHub) -> list[int]:
    """Bad tokens from one process, each claiming another address."""
    return [
        httpx.post(
            f"{live.url}/graphql",
            json={"query": "{ version }"},
            headers={
                "Authorization": "Bearer salon_not-a-token",
                "X-Forwarded-For": f"198.51.100.{n}",
            },
        ).status_code
        for n in range(1, 6)
    ]


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path: Path) -> None:
    """A local process cannot choose the address written to the audit trail, nor escape the
    bad-token limit by changing it each time."""
    for live in start_hub(tmp_path / "plain", demo=False, auth_failures_per_address="3/minute"):
        assert addresses_of_run_creations(live, "203.0.113.7") == ["127.0.0.1"]
        assert bad_tokens_until_refused(live) == [401, 401, 401, 429, 429]
    trusted = {
        "trusted_proxies": "127.0.0.1/32, 10.0.0.0/8",
        "auth_failures_per_address": "3/minute",
    }
    for live in start_hub(tmp_path / "proxied", demo=False, **trusted):
        # The rightmost address that is not one of the proxies is the caller's.
        assert addresses_of_run_creations(live, "192.0.2.1, 203.0.113.7, 10.1.2.3") == [
            "203.0.113.7"
        ]
        assert bad_tokens_until_refused(live) == [401] * 5, "each is another caller now"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_TRUSTED_PROXIES", "10.0.0.0/8,::1")
    assert load_settings(env_file=None)
    monkeypatch.setenv("SALON_TRUSTED_PROXIES", "10.0.0.0/8, *")
    with pytest.raises(SettingsError, match="SALON_TRUSTED_PROXIES: '\\*'"):
        load_settings(env_file=None)


def test_too_many_bad_tokens_from_an_address_do_not_lock_out_good_ones(tmp_path: Path) -> None:
    """Everyone behind one proxy shares its address: one person's bad token must not stop the
    others' good ones."""
    for live in start_hub(tmp_path, demo=False, auth_failures_per_address="3/minute"):
        assert bad_tokens_until_refused(live) == [401, 401, 401, 429, 429]
        for _ in range(3):
            good = httpx.post(
                f"{live.url}/graphql",
                json={"query": "{ version }"},
                headers={"Authorization": f"Bearer {live.token}"},
            )
            assert good.status_code == 200 and good.json()["data"]["version"], good.text
        assert bad_tokens_until_refused(live)[0] == 429, "bad ones are still refused"
