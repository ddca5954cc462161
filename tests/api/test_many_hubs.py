"""Two real hubs (uvicorn, each its own process state) on one PostgreSQL database: what one
acknowledges the other serves at once, and live updates reach clients of either."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_discussions import ADD, a_run
from tests.api.test_subscriptions import ACTIVITY, COMMENTS, collect, when_ready
from tests.conftest import LiveHub, PostgresCluster, graphql_call, shared_database, start_hub

RUN = "query($id: ID!) { run(id: $id) { name notes } }"
NOTES = """mutation($id: ID!, $notes: String!) { setRunNotes(runId: $id, notes: $notes) {
  __typename ... on Error { message } } }"""


@pytest.fixture
def two_hubs(postgres_cluster: str, tmp_path: Path) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two hubs on one database, sharing one data folder (its keys and files) for now."""
    url = shared_database(postgres_cluster)
    first = start_hub(tmp_path, demo=False, database_url=url)
    one = next(first)
    second = start_hub(tmp_path, demo=False, database_url=url)
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
