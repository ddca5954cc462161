"""POST /api/v1/runs/batch against a real hub: many runs' starts, points and ends in one
request; sent again, it changes nothing; a refused run costs the others nothing; a malformed
body is refused whole and stores nothing."""

from __future__ import annotations

import concurrent.futures
import json
import time
from typing import Any

import httpx
import pyarrow as pa
import uuid_utils

from hub.client.sender import HEADER, POINTS
from tests.api.test_datasets import person
from tests.conftest import LiveHub, graphql_call
from tests.http.test_upload_rights import answer_to_a_huge_body

RUNS = """query($p: String) { runs(project: $p, first: 100) { ... on RunConnection {
  totalCount nodes { id name status startedAt endedAt params { key value }
  metrics { key lastValue } } } } }"""


def run_id() -> str:
    return str(uuid_utils.uuid7())


def points(values: list[float], key: str = "loss") -> pa.Table:
    n = len(values)
    return pa.table(
        [
            pa.array([key] * n),
            pa.array(range(n), pa.int64()),
            pa.array([1] * n, pa.int64()),
            pa.array(values, pa.float64()),
        ],
        schema=POINTS,
    )


def body(header: dict[str, Any], tables: list[pa.Table] | None = None) -> bytes:
    table = pa.concat_tables(tables) if tables else POINTS.empty_table()
    table = table.replace_schema_metadata({HEADER: json.dumps(header)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def start(run: str, project: str = "sweep", **fields: Any) -> dict[str, Any]:
    return {"id": run, "project": project, "experiment": "lr", **fields}


def post(live: LiveHub, content: bytes, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or live.token}"} if token != "" else {}
    return httpx.post(f"{live.url}/api/v1/runs/batch", content=content, headers=headers, timeout=60)


def runs_of(live: LiveHub, project: str = "sweep") -> dict[str, dict[str, Any]]:
    found = graphql_call(live.url, live.token, RUNS, {"p": project})["data"]["runs"]
    return {node["id"]: node for node in found.get("nodes", [])}


def test_one_request_starts_logs_and_ends_many_runs(hub_server: LiveHub) -> None:
    a, b, c = run_id(), run_id(), run_id()
    started = int(time.time() * 1000) - 60_000  # the client's clock: a minute ago
    header = {
        "starts": [
            start(a, name="lr-0.1", params={"lr": "0.1"}, started_at=started),
            start(b, name="lr-0.01", params={"lr": "0.01"}),
            start(c),
        ],
        "chunks": [
            {"run": a, "batch": f"{a}:1", "rows": 3},
            {"run": b, "batch": f"{b}:1", "rows": 2},
        ],
        "ends": [{"run": a, "status": "finished"}, {"run": c, "status": "failed"}],
    }
    answer = post(hub_server, body(header, [points([3.0, 2.0, 1.0]), points([5.0, 4.0])]))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"stored": 5, "refused": {}}

    found = runs_of(hub_server)
    assert {r["name"]: r["status"] for r in found.values()} == {
        "lr-0.1": "FINISHED",
        "lr-0.01": "RUNNING",
        f"run-{c[-6:]}": "FAILED",
    }
    assert found[a]["params"] == [{"key": "lr", "value": "0.1"}]
    assert found[a]["metrics"] == [{"key": "loss", "lastValue": 1.0}]
    assert found[b]["metrics"] == [{"key": "loss", "lastValue": 4.0}]
    assert found[a]["startedAt"].startswith(time.strftime("%Y-%m-%d", time.gmtime(started / 1000)))
    assert found[a]["endedAt"] is not None and found[b]["endedAt"] is None

    # Later requests log to a run stored before and end it.
    more = {
        "chunks": [{"run": b, "batch": f"{b}:2", "rows": 1}],
        "ends": [{"run": b, "status": "killed"}],
    }
    assert post(hub_server, body(more, [points([3.5])])).json() == {"stored": 1, "refused": {}}
    assert runs_of(hub_server)[b]["status"] == "KILLED"


def test_a_batch_sent_again_changes_nothing(hub_server: LiveHub) -> None:
    a = run_id()
    header = {
        "starts": [start(a, name="again")],
        "chunks": [{"run": a, "batch": f"{a}:1", "rows": 2}],
        "ends": [{"run": a, "status": "finished"}],
    }
    content = body(header, [points([1.0, 0.5])])
    assert post(hub_server, content).json() == {"stored": 2, "refused": {}}
    assert post(hub_server, content).json() == {"stored": 0, "refused": {}}  # the answer was lost
    found = runs_of(hub_server)
    assert [r["status"] for r in found.values()] == ["FINISHED"]
    series = graphql_call(
        hub_server.url,
        hub_server.token,
        'query($id: ID!) { run(id: $id) { series(keys: ["loss"]) { steps } } }',
        {"id": a},
    )["data"]["run"]["series"]
    assert series == [{"steps": [0, 1]}]


def test_a_refused_run_costs_the_others_nothing(hub_server: LiveHub) -> None:
    post(hub_server, body({"starts": [start(run_id(), project="quality")]}))  # the project
    viewer = person(hub_server, "vic", "viewer")
    good, logged, long_param, ended, version_4 = (
        run_id(),
        run_id(),
        run_id(),
        run_id(),
        str(uuid_utils.uuid4()),
    )
    first = {
        "starts": [start(ended), start(logged)],
        "ends": [{"run": ended, "status": "finished"}],
    }
    assert post(hub_server, body(first)).json() == {"stored": 0, "refused": {}}
    header = {
        "starts": [
            start(good, project="quality"),
            start("not-a-uuid"),
            start(version_4),
            start(long_param, params={"lr": "x" * 10_000}),
        ],
        "chunks": [
            {"run": good, "batch": "g1", "rows": 1},
            {"run": logged, "batch": "w1", "rows": 1},
        ],
        "ends": [{"run": ended, "status": "failed"}, {"run": good, "status": "paused"}],
    }
    content = body(header, [points([1.0]), points([2.0])])

    # A viewer of "quality", who is no member of "sweep": every run refused, each saying why.
    refused = post(hub_server, content, viewer).json()["refused"]
    assert set(refused) == {good, "not-a-uuid", version_4, long_param, logged, ended}
    assert "viewer" in refused[good], refused[good]
    assert "not a UUID" in refused["not-a-uuid"]
    assert "UUIDv7" in refused[version_4]
    assert "limit" in refused[long_param], refused[long_param]
    assert "No run" in refused[logged] and "No run" in refused[ended]
    assert set(runs_of(hub_server)) == {ended, logged}

    # The same batch from the projects' admin: only what is wrong in itself is refused, and
    # the run it does not refuse gets its point.
    answer = post(hub_server, content).json()
    assert set(answer["refused"]) == {good, "not-a-uuid", version_4, long_param, ended}
    assert "paused" in answer["refused"][good]
    assert "already ended finished" in answer["refused"][ended]
    assert answer["stored"] == 1
    found = runs_of(hub_server)
    assert found[logged]["metrics"] == [{"key": "loss", "lastValue": 2.0}]
    assert found[ended]["status"] == "FINISHED"
    assert good not in runs_of(hub_server, "quality")


def test_malformed_bodies_are_400_with_a_reason_and_store_nothing(hub_server: LiveHub) -> None:
    a = run_id()
    good = {"starts": [start(a)], "chunks": [{"run": a, "batch": "b", "rows": 1}]}
    no_header = points([1.0])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, no_header.schema) as writer:
        writer.write_table(no_header)
    cases = {
        b"not arrow at all": "not an Arrow IPC stream",
        bytes(sink.getvalue().to_pybytes()): "no 'salon.batch' metadata",
        body(
            {**good, "chunks": [{"run": a, "batch": "b", "rows": 2}]}, [points([1.0])]
        ): "count 2 rows",
        body({**good, "starts": [{"id": a}]}, [points([1.0])]): "starts.0.project",
        body({**good, "extra": 1}, [points([1.0])]): "extra",
        body({**good, "ends": [{"run": a, "status": 3}]}, [points([1.0])]): "ends.0.status",
        body({"starts": [start(a, params={"lr": 0.1})]}): "starts.0.params.lr",
    }
    for content, reason in cases.items():
        answer = post(hub_server, content)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["message"], answer.json()
    metadata = no_header.replace_schema_metadata({HEADER: b"{not json"})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, metadata.schema) as writer:
        writer.write_table(metadata)
    assert post(hub_server, bytes(sink.getvalue().to_pybytes())).status_code == 400
    assert runs_of(hub_server) == {}


def test_unauthenticated_and_oversized_requests_are_refused(hub_server: LiveHub) -> None:
    a = run_id()
    content = body({"starts": [start(a)]})
    assert post(hub_server, content, token="").status_code == 401
    assert post(hub_server, content, token="wrong").status_code == 401
    declared_huge = answer_to_a_huge_body(hub_server, "/api/v1/runs/batch", hub_server.token)
    assert declared_huge.split(" ")[1] == "413"
    too_many = body({"starts": [start(run_id()) for _ in range(1_001)]})
    answer = post(hub_server, too_many)
    assert answer.status_code == 413 and "limit is 1000" in answer.json()["message"]
    assert runs_of(hub_server) == {}


def test_concurrent_batches_store_every_run_and_point_once(hub_server: LiveHub) -> None:
    batches = []
    for _ in range(8):
        ids = [run_id() for _ in range(25)]
        header = {
            "starts": [start(i) for i in ids],
            "chunks": [{"run": i, "batch": f"{i}:1", "rows": 4} for i in ids],
            "ends": [{"run": i, "status": "finished"} for i in ids],
        }
        batches.append(body(header, [points([1.0, 2.0, 3.0, 4.0]) for _ in ids]))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # each sent twice, at the same time
        answers = list(pool.map(lambda content: post(hub_server, content), batches * 2))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    assert sum(answer.json()["stored"] for answer in answers) == 8 * 25 * 4
    found = graphql_call(hub_server.url, hub_server.token, RUNS, {"p": "sweep"})["data"]["runs"]
    assert found["totalCount"] == 200
