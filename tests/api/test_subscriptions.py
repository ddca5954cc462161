"""Live updates over a real WebSocket with a real GraphQL client (gql, graphql-transport-ws):
several listeners, token checked in connection_init, other origins refused, and updates about a
restricted dataset only for its groups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
import websockets
from gql import Client, gql
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport

import hub
from tests.api.test_datasets import inspections, person, restrict
from tests.api.test_discussions import ADD, a_run
from tests.conftest import LiveHub, graphql_call

COMMENTS = gql("""subscription($k: TargetKind!, $id: ID!) {
  commentAdded(kind: $k, id: $id) { id author body html } }""")
ACTIVITY = gql("""subscription($p: String) { activityAdded(project: $p) { verb summary actor } }""")
POINTS = gql("subscription($id: ID!) { metricPoints(runId: $id) { runId points } }")


def transport(live: LiveHub, token: str | None, **extra: Any) -> WebsocketsTransport:
    payload = {"authorization": f"Bearer {token}"} if token else {}
    return WebsocketsTransport(
        url=live.url.replace("http", "ws") + "/graphql",
        init_payload=payload,
        subprotocols=["graphql-transport-ws"],
        **extra,
    )


async def collect(
    live: LiveHub,
    token: str,
    document: Any,
    variables: dict[str, Any],
    count: int,
    ready: asyncio.Event,
) -> list[dict[str, Any]]:
    """The first ``count`` updates one listener receives."""
    got: list[dict[str, Any]] = []
    async with Client(transport=transport(live, token)) as session:
        stream = session.subscribe(document, variable_values=variables)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.5)  # the subscription is registered on the hub
        ready.set()
        got.append(await first)
        while len(got) < count:
            got.append(await anext(stream))
        await stream.aclose()
    return got


async def when_ready(events: list[asyncio.Event], then: Awaitable[Any]) -> Any:
    for event in events:
        await event.wait()
    return await then


def test_several_listeners_see_new_comments_and_activity(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)
    ada = person(hub_server, "ada", "viewer", "vision")

    async def scenario() -> tuple[Any, ...]:
        ready = [asyncio.Event() for _ in range(3)]

        async def write() -> None:
            for body in ("first look", "second look"):
                await asyncio.to_thread(
                    hub_server.graphql, ADD, {"k": "RUN", "id": run_id, "body": body}
                )

        return await asyncio.wait_for(
            asyncio.gather(
                collect(
                    hub_server, hub_server.token, COMMENTS, {"k": "RUN", "id": run_id}, 2, ready[0]
                ),
                collect(hub_server, ada, COMMENTS, {"k": "RUN", "id": run_id}, 2, ready[1]),
                collect(hub_server, ada, ACTIVITY, {"p": "vision"}, 2, ready[2]),
                when_ready(ready, write()),
            ),
            timeout=30,
        )

    admin_saw, ada_saw, feed, _ = asyncio.run(scenario())
    assert [c["commentAdded"]["body"] for c in admin_saw] == ["first look", "second look"]
    assert ada_saw == admin_saw
    assert "<p>first look</p>" in ada_saw[0]["commentAdded"]["html"]
    assert [e["activityAdded"]["verb"] for e in feed] == ["comment.create", "comment.create"]


def test_metric_points_arrive_as_they_are_logged(hub_server: LiveHub) -> None:
    run = hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )

    async def scenario() -> Any:
        ready = asyncio.Event()

        async def log() -> None:
            await ready.wait()
            await asyncio.to_thread(lambda: (run.log({"loss": 0.5}, step=1), run.flush()))

        got, _ = await asyncio.wait_for(
            asyncio.gather(
                collect(hub_server, hub_server.token, POINTS, {"id": run.id}, 1, ready),
                log(),
            ),
            timeout=30,
        )
        return got

    (update,) = asyncio.run(scenario())
    assert update["metricPoints"] == {"runId": run.id, "points": 1}
    run.finish()


def test_restricted_updates_reach_only_the_group(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "patients", inspections(10))
    client.upload_dataset("quality", "parts", inspections(10))
    outsider = person(hub_server, "oz", "commenter")
    restrict(hub_server, "quality", "patients", "clinic")
    versions = {
        name: hub_server.graphql(
            'query($n: String!) { dataset(project: "quality", name: $n) { version { id } } }',
            {"n": name},
        )["data"]["dataset"]["version"]["id"]
        for name in ("patients", "parts")
    }

    async def scenario() -> Any:
        ready = asyncio.Event()

        async def write() -> None:
            await ready.wait()
            for name in ("patients", "parts"):  # the outsider must only see the second
                await asyncio.to_thread(
                    hub_server.graphql,
                    ADD,
                    {"k": "DATASET_VERSION", "id": versions[name], "body": f"about {name}"},
                )

        got, _ = await asyncio.wait_for(
            asyncio.gather(
                collect(hub_server, outsider, ACTIVITY, {"p": "quality"}, 1, ready),
                write(),
            ),
            timeout=30,
        )
        return got

    (seen,) = asyncio.run(scenario())
    assert "parts" in seen["activityAdded"]["summary"]

    async def forbidden() -> None:
        async with Client(transport=transport(hub_server, outsider)) as session:
            stream = session.subscribe(
                COMMENTS, variable_values={"k": "DATASET_VERSION", "id": versions["patients"]}
            )
            await anext(stream)

    with pytest.raises(TransportQueryError, match="No dataset version"):
        asyncio.run(forbidden())


def test_a_connection_without_a_valid_token_is_refused(hub_server: LiveHub) -> None:
    async def connect(token: str | None) -> None:
        async with Client(transport=transport(hub_server, token)) as session:
            await anext(session.subscribe(ACTIVITY, variable_values={}))

    for token in (None, "not-a-token", "x" * 5000):
        with pytest.raises(TransportConnectionFailed, match="ConnectionClosed"):
            asyncio.run(connect(token))


def test_pages_on_other_origins_may_not_open_a_websocket(hub_server: LiveHub) -> None:
    async def handshake(origin: str) -> None:
        url = hub_server.url.replace("http", "ws") + "/graphql"
        async with websockets.connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            subprotocols=["graphql-transport-ws"],
        ):  # type: ignore[list-item]
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus, match="403"):
        asyncio.run(handshake("http://evil.example"))
    asyncio.run(handshake(hub_server.url))  # the hub's own origin may


def test_queries_still_need_the_header_over_http(hub_server: LiveHub) -> None:
    response = httpx.post(f"{hub_server.url}/graphql", json={"query": "{ version }"})
    assert response.status_code == 401
    assert graphql_call(hub_server.url, hub_server.token, "{ version }")["data"]["version"]


def test_a_subscription_that_does_not_parse_gets_an_error_message(
    hub_server: LiveHub, caplog: pytest.LogCaptureFixture
) -> None:
    """The graphql-transport-ws ``error`` message with the syntax error, on a socket that stays
    open for the next subscription; nothing is logged as unhandled."""

    async def talk() -> list[dict[str, Any]]:
        url = hub_server.url.replace("http", "ws") + "/graphql"
        async with websockets.connect(
            url,
            origin=hub_server.url,  # type: ignore[arg-type]
            subprotocols=["graphql-transport-ws"],
        ) as ws:  # type: ignore[list-item]
            hello = {"authorization": f"Bearer {hub_server.token}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": hello}))
            answers = [json.loads(await ws.recv())]
            bad = 'subscription { activityAdded(project: "x" { verb }'
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": bad}}))
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await ws.send(json.dumps({"type": "ping"}))
            answers.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return answers

    ack, error, pong = asyncio.run(talk())
    assert ack["type"] == "connection_ack" and pong["type"] == "pong"
    assert error["type"] == "error" and error["id"] == "1", error
    assert error["payload"][0]["message"] == "Syntax Error: Expected Name, found '{'."
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
