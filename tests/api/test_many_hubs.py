"""Two real hubs (uvicorn, each its own process state) on one PostgreSQL database: what one
acknowledges the other serves at once, and live updates reach clients of either."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

import hub
from bench.postgres import PostgresCluster
from hub.auth import jwt_check
from hub.auth.clients import DASHBOARD_CLIENT_ID
from hub.auth.keys import KeyRing
from hub.services.identity import accounts
from tests.api.test_datasets import inspections
from tests.api.test_discussions import ADD, a_run
from tests.api.test_subscriptions import ACTIVITY, COMMENTS, collect, when_ready
from tests.conftest import (
    LiveHub,
    S3Server,
    free_port,
    graphql_call,
    shared_database,
    start_hub,
)
from tests.http.test_signin import Provider
from tests.inprocess import DEMO_PASSWORD

RUN = "query($id: ID!) { run(id: $id) { name notes } }"
NOTES = """mutation($id: ID!, $notes: String!) { setRunNotes(runId: $id, notes: $notes) {
  __typename ... on Error { message } } }"""


# The load balancer's address, every hub's SALON_URL (a loopback one: OAuth wants https else).
ADDRESS = f"http://127.0.0.1:{free_port()}"


class RoundRobin(httpx.BaseTransport):
    """A load balancer inside the client: each request goes to the next hub in turn."""

    def __init__(self, hubs: Sequence[LiveHub]) -> None:
        self._next = itertools.cycle(hubs)
        self._inner = httpx.HTTPTransport()
        self.served: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hub = next(self._next)
        self.served.append(hub.url)
        port = int(hub.url.rsplit(":", 1)[1])
        forwarded = httpx.Request(  # the client's own request keeps the shared address
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=port),
            headers=request.headers,
            content=request.read(),
        )
        return self._inner.handle_request(forwarded)


@pytest.fixture
def two_hubs(postgres_cluster: str, tmp_path: Path) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two hubs behind one address on one database, each with its own data folder, as on two
    machines. The first re-reads its keys every second, the second hourly."""
    shared = {
        "database_url": shared_database(postgres_cluster),
        "object_store": str(tmp_path / "objects"),  # a folder both machines mount
        "url": ADDRESS,
    }
    first = start_hub(tmp_path / "a", demo=False, audit_checkpoint_seconds=1, **shared)
    one = next(first)
    second = start_hub(tmp_path / "b", demo=False, audit_checkpoint_seconds=3600, **shared)
    other = next(second)
    try:
        yield one, other
    finally:
        for started in (second, first):
            next(started, None)


def test_what_one_hub_acknowledges_the_next_request_to_another_sees(
    two_hubs: tuple[LiveHub, LiveHub],
) -> None:
    one, other = two_hubs
    run_id = a_run(one)
    for number in range(5):  # each write through one hub, each read straight after on the other
        graphql_call(one.url, one.token, NOTES, {"id": run_id, "notes": f"take {number}"})
        seen = graphql_call(other.url, other.token, RUN, {"id": run_id})["data"]["run"]
        assert seen["notes"] == f"take {number}"
    verified = graphql_call(
        other.url, other.token, "{ auditVerification { ... on AuditVerification { ok } } }"
    )
    assert verified["data"]["auditVerification"]["ok"]


def test_live_updates_reach_clients_of_every_hub(two_hubs: tuple[LiveHub, LiveHub]) -> None:
    one, other = two_hubs
    run_id = a_run(one)

    async def scenario() -> tuple[Any, ...]:
        ready = [asyncio.Event() for _ in range(3)]

        async def write() -> None:
            for body in ("seen from the other hub", "and again"):
                await asyncio.to_thread(one.graphql, ADD, {"k": "RUN", "id": run_id, "body": body})

        return await asyncio.wait_for(
            asyncio.gather(
                collect(other, other.token, COMMENTS, {"k": "RUN", "id": run_id}, 2, ready[0]),
                collect(one, one.token, COMMENTS, {"k": "RUN", "id": run_id}, 2, ready[1]),
                collect(other, other.token, ACTIVITY, {"p": "vision"}, 2, ready[2]),
                when_ready(ready, write()),
            ),
            timeout=30,
        )

    elsewhere, here, feed, _ = asyncio.run(scenario())
    bodies = ["seen from the other hub", "and again"]
    assert [c["commentAdded"]["body"] for c in elsewhere] == bodies
    assert here == elsewhere, "the hub that wrote and the one that followed tell the same"
    assert [e["activityAdded"]["verb"] for e in feed] == ["comment.create", "comment.create"]


def test_a_database_that_goes_away_is_a_503_and_the_hub_recovers(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    cluster = PostgresCluster(tmp_path_factory.mktemp("going-away"))
    try:
        started = start_hub(tmp_path, demo=False, database_url=shared_database(cluster.address))
        live = next(started)
        run_id = a_run(live)
        cluster.stop()
        for query, variables in [(RUN, {"id": run_id}), (NOTES, {"id": run_id, "notes": "lost"})]:
            answer = httpx.post(
                f"{live.url}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {live.token}"},
                timeout=30,
            )
            said = json.dumps(answer.json())
            assert "does not answer" in said and "nothing was changed" in said, said
            assert str(cluster.port) not in said, "where the database is stays in the hub"
        assert httpx.get(f"{live.url}/readyz", timeout=30).status_code == 503
        cluster.start()
        graphql_call(live.url, live.token, NOTES, {"id": run_id, "notes": "back"})
        seen = graphql_call(live.url, live.token, RUN, {"id": run_id})["data"]["run"]
        assert seen["notes"] == "back", "the notes sent while it was away were not stored"
        assert httpx.get(f"{live.url}/readyz", timeout=30).status_code == 200
        next(started, None)
    finally:
        cluster.stop()


def test_a_sign_in_through_any_hub_is_good_at_every_hub(two_hubs: tuple[LiveHub, LiveHub]) -> None:
    """The code flow with each step at the next hub (a sign-in cookie made by one, a code by
    another, tokens by a third), then the tokens at both; and after a key rotation by another
    machine, a token signed with the new key at the hub that has not re-read its keys."""
    one, other = two_hubs
    accounts.create_user_sync(one.store, "ana.silva", DEMO_PASSWORD)
    secret = one.store.secrets.get("dashboard-client-secret")
    assert secret and secret == other.store.secrets.get("dashboard-client-secret")
    balancer = RoundRobin([one, other])
    with httpx.Client(base_url=ADDRESS, transport=balancer) as http:
        provider = Provider(http, secret, one.store, one.settings.data_dir)
        tokens = provider.code_flow("ana.silva")
        assert {one.url, other.url} <= set(balancer.served)
        for hub in (one, other):
            me = graphql_call(hub.url, tokens["access_token"], "{ me { user { name } } }")
            assert me["data"]["me"]["user"]["name"] == "ana.silva"

        kid = KeyRing(other.store.secrets).rotate()  # `salon keys rotate` elsewhere
        deadline = time.monotonic() + 30
        while True:  # the first hub re-reads its keys every second and signs with the newest
            answer = http.post(
                "/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                auth=(DASHBOARD_CLIENT_ID, secret),
            )
            assert answer.status_code == 200, answer.text
            tokens = answer.json()
            header, _ = jwt_check.unverified_claims(tokens["access_token"])
            if header["kid"] == kid or time.monotonic() > deadline:
                break
        assert header["kid"] == kid, "the first hub never signed with the rotated key"
    me = graphql_call(other.url, tokens["access_token"], "{ me { user { name } } }")
    assert me["data"]["me"]["user"]["name"] == "ana.silva"


def test_files_stored_through_one_hub_are_served_by_every_hub(
    postgres_cluster: str, s3_server: S3Server, tmp_path: Path
) -> None:
    """SALON_OBJECT_STORE on an S3 bucket: a dataset version and an artifact sent to one hub
    are read through the other, which has a data folder of its own and no copy."""
    s3_server.client.create_bucket(Bucket="salon-objects")
    shared = {
        "database_url": shared_database(postgres_cluster),
        "object_store": "s3://salon-objects/team",
        **s3_server.settings,
    }
    first = start_hub(tmp_path / "a", demo=False, **shared)
    one = next(first)
    second = start_hub(tmp_path / "b", demo=False, **shared)
    other = next(second)
    try:
        frame = inspections(3000)
        made = hub.Client(one.url, one.token).upload_dataset("vision", "inspections", frame)
        assert made["rows"] == 3000
        assert hub.Client(other.url, other.token).dataset("vision", "inspections").equals(frame)
        rows = other.graphql(
            '{ dataset(project: "vision", name: "inspections") { version { rows(limit: 2, '
            'orderBy: ["part_id desc"]) { ... on DatasetRows { total rows } } } } }'
        )["data"]["dataset"]["version"]["rows"]
        assert rows["total"] == 3000 and rows["rows"][0][0] == 2999

        run_id = a_run(one)
        notes = os.urandom(2 * 1024 * 1024 + 5)  # more than one chunk
        path = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/notes/eval.bin"
        auth = {"Authorization": f"Bearer {one.token}"}
        put = httpx.put(one.url + path, content=notes, headers=auth, timeout=30)
        assert put.status_code == 200, put.text
        got = httpx.get(other.url + path, headers=auth, timeout=30)
        assert got.status_code == 200 and got.content == notes
        assert got.headers["content-length"] == str(len(notes))

        for folder in ("a", "b"):
            assert not list((tmp_path / folder).rglob("objects/*/*")), "nothing kept locally"
        keys = s3_server.client.list_objects_v2(Bucket="salon-objects")["Contents"]
        assert len([k for k in keys if k["Key"].startswith("team/")]) == 2
        ready = httpx.get(f"{other.url}/readyz", timeout=30).json()
        assert ready["checks"]["objects"] == "ok"
    finally:
        for started in (second, first):
            next(started, None)


def test_an_object_store_that_refuses_stops_the_hub_with_the_setting_named(
    s3_server: S3Server, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_OBJECT_STORE": "s3://never-made/salon",
        "SALON_S3_ENDPOINT": s3_server.endpoint,
        "SALON_S3_ACCESS_KEY_ID": s3_server.settings["s3_access_key_id"],
        "SALON_S3_SECRET_ACCESS_KEY": s3_server.settings["s3_secret_access_key"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "SALON_OBJECT_STORE" in done.stderr and "never-made" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_guesses_spread_over_the_hubs_add_up(postgres_cluster: str, tmp_path: Path) -> None:
    """Failed sign-ins and bad tokens count in the shared database: a client taking turns
    between two hubs is stopped after the limit, not after twice the limit."""
    limits = {"auth_failures_per_account": "3/minute", "auth_failures_per_address": "5/minute"}
    shared = {
        "database_url": shared_database(postgres_cluster),
        "object_store": str(tmp_path / "objects"),
        "url": ADDRESS,
        **limits,
    }
    first = start_hub(tmp_path / "a", demo=False, **shared)
    one = next(first)
    second = start_hub(tmp_path / "b", demo=False, **shared)
    other = next(second)
    try:
        accounts.create_user_sync(one.store, "ana.silva", DEMO_PASSWORD)
        with httpx.Client(base_url=ADDRESS, transport=RoundRobin([one, other])) as http:
            provider = Provider(http, "", one.store, one.settings.data_dir)
            answers = []
            for _ in range(4):  # a sign-in is two requests: step once more, to alternate posts
                answers.append(provider.sign_in("ana.silva", "not her password"))
                http.get("/healthz")
            assert [a.status_code for a in answers] == [401, 401, 401, 429]
            assert int(answers[-1].headers["Retry-After"]) > 0
            assert provider.sign_in("ana.silva").status_code == 429, "locked at every hub"
        guesses = [
            httpx.post(
                f"{hub.url}/graphql",
                json={"query": "{ projects { name } }"},
                headers={"Authorization": "Bearer salon_not-a-real-token"},
                timeout=30,
            ).status_code
            for hub in (one, other, one, other, one, other)
        ]
        # The address has 3 failed sign-ins already: 2 more guesses, wherever they land.
        assert guesses == [401, 401, 429, 429, 429, 429], guesses
        good = graphql_call(other.url, other.token, "{ projects { name } }")
        assert "errors" not in good, "a good token still works from that address"
    finally:
        for started in (second, first):
            next(started, None)
