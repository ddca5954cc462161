"""The Arrow ingest and history endpoints: good batches, bad ones, and who may send them."""

from __future__ import annotations

import asyncio
import concurrent.futures

import numpy as np
import pyarrow as pa

from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics
from tests.inprocess import InProcessHub
from tests.store.helpers import points

CREATE = 'mutation { createRun(input: {project: "p", experiment: "e"}) { ... on Run { id } } }'


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def new_run(api: InProcessHub) -> str:
    run_id: str = api.graphql(CREATE)["data"]["createRun"]["id"]
    return run_id


def send(api: InProcessHub, run_id: str, body: bytes, batch_id: str = "b1", **headers: str):  # type: ignore[no-untyped-def]
    return api.http.post(
        f"/api/v1/runs/{run_id}/metrics",
        params={"batch_id": batch_id},
        content=body,
        headers={**api.auth, **headers},
    )


def history(api: InProcessHub, run_id: str) -> pa.Table:
    response = api.http.get("/api/v1/metrics", params={"run_id": run_id}, headers=api.auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    return pa.ipc.open_stream(response.content).read_all()


def test_ingest_then_read_back_as_arrow(api: InProcessHub) -> None:
    run_id = new_run(api)
    response = send(api, run_id, ipc(points({"loss": [3.0, 2.0], "acc": [0.1, 0.2]})))
    assert response.status_code == 200 and response.json() == {"stored": 4}
    table = history(api, run_id)
    assert table.schema.names == ["run_id", "key", "step", "ts", "value"]
    assert sorted(zip(table["key"].to_pylist(), table["value"].to_pylist(), strict=True)) == [
        ("acc", 0.1),
        ("acc", 0.2),
        ("loss", 2.0),
        ("loss", 3.0),
    ]
    # The same batch again is acknowledged but not stored twice.
    assert send(api, run_id, ipc(points({"loss": [3.0, 2.0]}))).json() == {"stored": 0}
    assert history(api, run_id).num_rows == 4


def test_malformed_batches_are_400_with_a_reason_and_lose_nothing(api: InProcessHub) -> None:
    run_id = new_run(api)
    assert send(api, run_id, ipc(points({"loss": [1.0]})), "good").status_code == 200
    cases = {
        b"not arrow at all": "not an Arrow IPC stream",
        ipc(pa.table({"key": ["a"], "value": [1.0]})): "lacks column(s) step, ts",
        ipc(pa.table({"key": ["a"], "step": ["x"], "ts": [1], "value": [1.0]})): "wrong type",
        ipc(pa.table({"key": ["a"], "step": [1.5], "ts": [1], "value": [1.0]})): "wrong type",
        ipc(points({"": [1.0]})): "name is empty",
        ipc(points({"k" * 251: [1.0]})): "limit is 250",
    }
    for number, (body, reason) in enumerate(cases.items()):
        response = send(api, run_id, body, f"bad-{number}")
        assert response.status_code in (400, 413), response.text
        assert reason in response.json()["message"], response.json()
    assert send(api, run_id, ipc(points({"a": [1.0]})), "has space").status_code == 400
    assert history(api, run_id).num_rows == 1


def test_oversized_bodies_are_413(api: InProcessHub) -> None:
    run_id = new_run(api)
    big = ipc(points({"loss": [0.5] * 10_000}))  # > the 64 KiB limit of this hub
    response = send(api, run_id, big)
    assert response.status_code == 413 and "SALON_MAX_UPLOAD_BYTES" in response.json()["message"]

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    streamed = api.http.post(
        f"/api/v1/runs/{run_id}/metrics",
        params={"batch_id": "s"},
        content=chunks(),
        headers=api.auth,
    )
    assert streamed.status_code == 413
    assert history(api, run_id).num_rows == 0


def test_unauthorized_and_unknown_runs(api: InProcessHub) -> None:
    run_id = new_run(api)
    body = ipc(points({"loss": [1.0]}))
    assert (
        api.http.post(f"/api/v1/runs/{run_id}/metrics?batch_id=x", content=body).status_code == 401
    )
    assert send(api, run_id, body, Authorization="Bearer wrong").status_code == 401
    missing = send(api, "no-such-run", body)
    assert missing.status_code == 404 and "No run" in missing.json()["message"]
    no_runs = api.http.get("/api/v1/metrics", headers=api.auth)
    assert no_runs.status_code == 400
    assert api.http.get("/api/v1/metrics", params={"run_id": "x"}).status_code == 401


def test_concurrent_batches_all_arrive_once(api: InProcessHub) -> None:
    run_ids = [new_run(api) for _ in range(4)]

    def post(index: int) -> int:
        run_id = run_ids[index % 4]
        table = points({"loss": [float(index)] * 100}, start_step=index * 100)
        response = send(api, run_id, ipc(table), f"batch-{index}")
        assert response.status_code == 200, response.text
        stored: int = response.json()["stored"]
        return stored

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(post, range(40)))
    assert sum(stored) == 4000
    for run_id in run_ids:
        assert history(api, run_id).num_rows == 1000


def test_nan_and_infinity_are_stored_and_read_back_as_null(api: InProcessHub) -> None:
    run_id = new_run(api)
    table = points({"loss": [1.0, float("nan"), float("inf")]})
    assert send(api, run_id, ipc(table)).status_code == 200
    data = api.graphql(
        "query($id: ID!) { run(id: $id) { metrics { lastValue maxValue } "
        'series(keys: ["loss"]) { values steps } } }',
        {"id": run_id},
    )["data"]["run"]
    assert data["series"] == [{"values": [1.0, None, None], "steps": [0, 1, 2]}]
    assert data["metrics"][0]["lastValue"] is None
    values = history(api, run_id).column("value").to_pylist()
    assert values[0] == 1.0 and values[2] == float("inf") and values[1] != values[1]


def test_history_requests_are_bounded(api: InProcessHub) -> None:
    too_many = [("run_id", f"r{i}") for i in range(1001)]
    response = api.http.get("/api/v1/metrics", params=too_many, headers=api.auth)
    assert response.status_code == 413 and "at most 1000 runs" in response.json()["message"]
    unknown = api.http.get("/api/v1/metrics", params={"run_id": "nope"}, headers=api.auth)
    assert unknown.status_code == 404


def test_a_reader_that_hangs_up_mid_history_leaves_the_hub_serving(api: InProcessHub) -> None:
    run_id = new_run(api)
    steps = np.arange(2_500_000)  # three batches of the history stream
    table = pa.table(
        {
            "key": pa.array(["loss"] * len(steps)),
            "step": pa.array(steps),
            "ts": pa.array(steps),
            "value": pa.array(steps.astype(float)),
        }
    )
    asyncio.run(metrics.ingest_table(api.store, SYSTEM, run_id, "big", table))
    for _ in range(10):  # more hang-ups than the hub has worker threads
        with api.http.stream(
            "GET", "/api/v1/metrics", params={"run_id": run_id}, headers=api.auth
        ) as response:
            assert response.status_code == 200
            next(response.iter_bytes())
    whole = history(api, run_id)
    assert whole.num_rows == 2_500_000
    assert whole.column("step").to_pylist()[-3:] == [2_499_997, 2_499_998, 2_499_999]
