"""A hub killed with SIGKILL in the middle of writes: nothing it acknowledged is lost, and the
audit trail still matches the data exactly (same-transaction events, valid hash chain)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from hub.auth.keys import KeyRing
from hub.services.policy.audit_trail import read_checkpoint
from hub.services.policy.keep import FolderKeep
from hub.store import Store, open_store
from tests.conftest import free_port, graphql_call
from tests.test_cli import SALON, salon_env

TOKEN = "crash-test-token-0123456789abcdef"
WRITERS = 4
TIMEOUT = httpx.Timeout(30.0, connect=5.0)

CREATE = """mutation($name: String!) {
  createRun(input: {project: "p", experiment: "e", name: $name}) {
    __typename ... on Run { id name } } }"""
NOTES = (
    "mutation($id: ID!, $notes: String!) { setRunNotes(runId: $id, notes: $notes) { __typename } }"
)
PARAMS = """mutation($id: ID!, $key: String!, $value: String!) {
  logParams(runId: $id, params: [{key: $key, value: $value}]) { __typename } }"""
VERIFY = """{ auditVerification { __typename ... on AuditVerification {
  ok checked headSeq problem checkpointFound } } }"""


def ipc(points: int, step: int) -> bytes:
    table = pa.table(
        {
            "key": pa.array(["loss"] * points, pa.string()),
            "step": pa.array(range(step, step + points), pa.int64()),
            "ts": pa.array([1_700_000_000_000 + step] * points, pa.int64()),
            "value": pa.array([0.5] * points, pa.float64()),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@dataclasses.dataclass
class Writer:
    """One client thread's acknowledged changes. It sends one request at a time, so at most one
    change (the one in flight at the kill) can be committed without being acknowledged."""

    number: int
    run_id: str
    runs: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> name
    notes: list[str] = dataclasses.field(default_factory=list)  # in order
    batches: dict[str, int] = dataclasses.field(default_factory=dict)  # batch id -> points
    params: list[str] = dataclasses.field(default_factory=list)  # keys
    unexpected: list[str] = dataclasses.field(default_factory=list)
    in_flight: str | None = None
    stopped_by: str | None = None

    @property
    def acknowledged(self) -> int:
        return len(self.runs) + len(self.notes) + len(self.batches) + len(self.params)

    def run(self, url: str, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        prefix = f"w{self.number}"
        with httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT) as client:

            def mutation(query: str, variables: dict[str, Any], field: str) -> Any:
                response = client.post("/graphql", json={"query": query, "variables": variables})
                body = response.json() if response.status_code == 200 else None
                if body is None or body.get("errors") or body["data"][field] is None:
                    self.unexpected.append(f"{field}: {response.status_code} {response.text}")
                    return None
                result = body["data"][field]
                if result["__typename"] != "Run":
                    self.unexpected.append(f"{field}: {result}")
                    return None
                return result

            step = 0
            while not stop.is_set():
                step += 1
                kind = step % 4
                try:
                    if kind == 0:
                        name = f"{prefix}-run-{step}"
                        self.in_flight = name
                        result = mutation(CREATE, {"name": name}, "createRun")
                        if result is not None and result["name"] == name:
                            self.runs[result["id"]] = name
                    elif kind == 1:
                        notes = f"{prefix}-notes-{step}"
                        self.in_flight = notes
                        variables = {"id": self.run_id, "notes": notes}
                        if mutation(NOTES, variables, "setRunNotes") is not None:
                            self.notes.append(notes)
                    elif kind == 2:
                        batch_id = f"{prefix}-batch-{step}"
                        self.in_flight = batch_id
                        points = 1 + step % 7
                        response = client.post(
                            f"/api/v1/runs/{self.run_id}/metrics",
                            params={"batch_id": batch_id},
                            content=ipc(points, step),
                        )
                        if response.status_code == 200 and response.json() == {"stored": points}:
                            self.batches[batch_id] = points
                        else:
                            self.unexpected.append(
                                f"ingest: {response.status_code} {response.text}"
                            )
                    else:
                        key = f"{prefix}-param-{step}"
                        self.in_flight = key
                        variables = {"id": self.run_id, "key": key, "value": str(step)}
                        if mutation(PARAMS, variables, "logParams") is not None:
                            self.params.append(key)
                    self.in_flight = None
                except (httpx.HTTPError, OSError) as exc:  # the hub is gone
                    self.stopped_by = repr(exc)
                    return


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = store.db.read_sync(
        lambda cur: cur.execute(sql, list(params)).fetchall()
    )
    return found


def allow_events(store: Store, action: str) -> list[tuple[str, int]]:
    """(object_id, row_count) of every allowed event of ``action``."""
    return [
        (row[0], row[1])
        for row in rows(
            store,
            "SELECT object_id, row_count FROM audit_events WHERE action = ? AND outcome = 'allow'",
            action,
        )
    ]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every hub process the test starts; each is stopped by its pid, even on failure."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=20)


def serve(
    data_dir: Path, log: Path, started: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = salon_env(
        data_dir,
        SALON_ADMIN_TOKEN=TOKEN,
        SALON_PORT=str(port),
        SALON_URL=url,
        SALON_HOST="127.0.0.1",
        SALON_AUDIT_CHECKPOINT_SECONDS="1",  # so that a checkpoint from mid-writes is on disk
    )
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*SALON, "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    started.append(process)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the hub did not start:\n{log.read_text()}"
        time.sleep(0.2)


@pytest.mark.slow
def test_kill_9_mid_writes_keeps_every_committed_change_with_its_audit_event(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "hub.log"
    hub, url = serve(data_dir, log, started)

    writers = []
    for number in range(WRITERS):
        created = graphql_call(url, TOKEN, CREATE, {"name": f"w{number}-own"})
        run = created["data"]["createRun"]
        writers.append(Writer(number, run["id"], runs={run["id"]: run["name"]}))
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer.run, args=(url, stop), daemon=True) for writer in writers
    ]
    try:
        for thread in threads:
            thread.start()
        # About two seconds of writes, and at least some of every kind from every writer.
        time.sleep(2)
        deadline = time.monotonic() + 30
        while not all(
            len(w.runs) > 3 and len(w.notes) > 2 and len(w.batches) > 2 and len(w.params) > 2
            for w in writers
        ):
            assert all(t.is_alive() for t in threads), [w.stopped_by for w in writers]
            assert time.monotonic() < deadline, [w.acknowledged for w in writers]
            time.sleep(0.05)
        assert all(t.is_alive() for t in threads), [w.stopped_by for w in writers]
        os.kill(hub.pid, signal.SIGKILL)
        assert hub.wait(timeout=20) == -signal.SIGKILL
        for thread in threads:
            thread.join(timeout=40)
            assert not thread.is_alive(), "a writer did not notice the hub was gone"
    finally:
        stop.set()
    for writer in writers:
        assert writer.unexpected == [], writer.unexpected
        assert writer.stopped_by is not None

    store = open_store(data_dir / "salon.duckdb")  # replays the write-ahead log
    try:
        # (1) The chain is whole, and reaches the head the hub signed while it was writing.
        checkpoint = read_checkpoint(
            FolderKeep(data_dir), KeyRing(FolderKeep(data_dir)).verify_bytes
        )
        assert checkpoint is not None
        report = store.audit.verify_sync([checkpoint])
        assert report.ok, report
        events = rows(store, "SELECT count(*), max(seq) FROM audit_events")[0]
        assert report.checked == events[0] == events[1] == report.head_seq > 0
        assert rows(store, "SELECT count(*) FROM audit_events WHERE outcome <> 'allow'") == [(0,)]

        # (2) Each stored run has exactly one run.create event and each event its run.
        stored_runs = dict(rows(store, "SELECT id, name FROM runs"))
        creations = collections.Counter(run_id for run_id, _ in allow_events(store, "run.create"))
        assert creations == collections.Counter(list(stored_runs))
        assert rows(store, "SELECT count(*) FROM projects") == [(1,)]
        assert len(allow_events(store, "project.create")) == 1

        # (3) Each stored batch has one metrics.ingest event for its run and its point count.
        batches = rows(store, "SELECT batch_id, run_id, point_count FROM ingest_batches")
        assert len({(batch_id, run_id) for batch_id, run_id, _ in batches}) == len(batches)
        ingests = allow_events(store, "metrics.ingest")
        assert collections.Counter(r for r, _ in ingests) == collections.Counter(
            r for _, r, _ in batches
        )
        ingested = collections.Counter[str]()
        for run_id, count in ingests:
            ingested[run_id] += count
        stored_points = collections.Counter[str]()
        for _, run_id, count in batches:
            stored_points[run_id] += count
        assert ingested == stored_points
        assert rows(store, "SELECT count(*) FROM metrics")[0][0] == sum(stored_points.values())

        # (4) Params: the rows each run.log_params event counts are the rows stored.
        logged = collections.Counter[str]()
        for run_id, count in allow_events(store, "run.log_params"):
            logged[run_id] += count
        assert logged == collections.Counter(r for (r,) in rows(store, "SELECT run_id FROM params"))

        params = {key: run_id for run_id, key in rows(store, "SELECT run_id, key FROM params")}
        batch_runs = {batch_id: (run_id, count) for batch_id, run_id, count in batches}
        notes_events = collections.Counter(r for r, _ in allow_events(store, "run.set_notes"))
        stored_notes = dict(rows(store, "SELECT id, notes FROM runs"))
        unacknowledged_total = 0
        for writer in writers:
            prefix = f"w{writer.number}-"
            # (5) Everything acknowledged is there, with its event.
            for run_id, name in writer.runs.items():
                assert stored_runs.get(run_id) == name
                assert creations[run_id] == 1
            for batch_id, points in writer.batches.items():
                assert batch_runs[batch_id] == (writer.run_id, points)
            for key in writer.params:
                assert params[key] == writer.run_id
            # Notes: one allowed event per acknowledged call, plus at most the one in flight,
            # and the stored text is the last acknowledged or the one in flight.
            extra_notes = notes_events[writer.run_id] - len(writer.notes)
            assert extra_notes in (0, 1), (extra_notes, writer)
            assert stored_notes[writer.run_id] in (writer.notes[-1], writer.in_flight)
            if extra_notes:
                assert stored_notes[writer.run_id] == writer.in_flight
            # (6) At most one change committed without an acknowledgement: the one in flight.
            unacknowledged = (
                extra_notes
                + sum(1 for n in stored_runs.values() if n.startswith(prefix))
                - len(writer.runs)
                + sum(1 for b in batch_runs if b.startswith(prefix))
                - len(writer.batches)
                + sum(1 for k in params if k.startswith(prefix))
                - len(writer.params)
            )
            assert unacknowledged in (0, 1), (unacknowledged, writer)
            unacknowledged_total += unacknowledged
        print(
            f"acknowledged {sum(w.acknowledged for w in writers)} changes, "
            f"{unacknowledged_total} more committed in flight, {report.checked} audit events"
        )
        head_seq = report.head_seq
    finally:
        store.close()

    # The hub starts again on the same files: the admin token (stored before the crash) still
    # signs in, runs from before the crash are found by id, new writes work, the chain verifies.
    _, url = serve(data_dir, log, started)
    response = httpx.post(
        f"{url}/graphql",
        json={"query": CREATE, "variables": {"name": "after-restart"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, f"after the restart: {response.text}"
    assert response.json()["data"]["createRun"]["__typename"] == "Run", response.text
    for writer in writers:
        notes = graphql_call(url, TOKEN, NOTES, {"id": writer.run_id, "notes": "after"})
        assert notes["data"]["setRunNotes"]["__typename"] == "Run", notes
        stored = httpx.post(
            f"{url}/api/v1/runs/{writer.run_id}/metrics",
            params={"batch_id": f"w{writer.number}-after"},
            content=ipc(2, 10_000),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=TIMEOUT,
        )
        assert stored.status_code == 200 and stored.json() == {"stored": 2}, stored.text
    verification = graphql_call(url, TOKEN, VERIFY)["data"]["auditVerification"]
    assert verification["__typename"] == "AuditVerification"
    assert verification["ok"] and verification["problem"] is None, verification
    assert verification["checkpointFound"]
    assert verification["checked"] == verification["headSeq"] > head_seq


def test_audit_verify_refuses_a_folder_without_a_store(tmp_path: Path) -> None:
    """A verifier pointed at the wrong folder says so; it must not create an empty store (and a
    signing key) and then report it intact."""
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        if folder.name == "empty":
            folder.mkdir()
        done = subprocess.run(
            [*SALON, "audit", "verify"],
            env=salon_env(folder),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done
        assert "no Salon store" in done.stderr and "SALON_DATA_DIR" in done.stderr, done.stderr
        assert "intact" not in done.stdout
        present = sorted(p.name for p in folder.rglob("*")) if folder.exists() else None
        assert present == ([] if folder.name == "empty" else None), present


PURGE = """mutation($id: ID!) { purgeFromTrash(entryId: $id) { __typename } }"""
TRASH = """mutation($id: ID!) { moveToTrash(kind: EXPERIMENT, id: $id) {
  __typename ... on TrashEntry { id } } }"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.02, 0.15, 0.4])
def test_kill_9_mid_purge_leaves_the_old_state_or_the_new_one(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], delay: float
) -> None:
    """A purge of an experiment whose runs hold 600,000 points, cut by SIGKILL after
    ``delay``: afterwards the entry and every row of it are there, or none is; the chain
    verifies either way."""
    data_dir, log = tmp_path / "data", tmp_path / "hub.log"
    hub, url = serve(data_dir, log, started)
    run_ids = []
    for number in range(3):
        run = graphql_call(url, TOKEN, CREATE, {"name": f"doomed-{number}"})["data"]["createRun"]
        run_ids.append(run["id"])
        for part in range(4):
            stored = httpx.post(
                f"{url}/api/v1/runs/{run['id']}/metrics",
                params={"batch_id": f"{number}-{part}"},
                content=ipc(50_000, part * 50_000),
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=TIMEOUT,
            )
            assert stored.status_code == 200, stored.text
    experiment = graphql_call(
        url,
        TOKEN,
        "query($id: ID!) { run(id: $id) { ... on Run { experiment { id } } } }",
        {"id": run_ids[0]},
    )["data"]["run"]["experiment"]["id"]
    entry = graphql_call(url, TOKEN, TRASH, {"id": experiment})["data"]["moveToTrash"]["id"]

    def purge() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the hub died under it
            httpx.post(
                f"{url}/graphql",
                json={"query": PURGE, "variables": {"id": entry}},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=TIMEOUT,
            )

    asking = threading.Thread(target=purge)
    asking.start()
    time.sleep(delay)
    os.kill(hub.pid, signal.SIGKILL)
    hub.wait(timeout=20)
    asking.join(timeout=40)

    store = open_store(data_dir / "salon.duckdb")
    try:
        assert store.audit.verify_sync([]).ok
        left = {
            "entry": rows(store, "SELECT count(*) FROM trash WHERE id = ?", entry)[0][0],
            "runs": rows(store, "SELECT count(*) FROM runs WHERE name LIKE 'doomed-%'")[0][0],
            "summaries": rows(store, "SELECT count(*) FROM metric_summaries")[0][0],
            "points": rows(store, "SELECT count(*) FROM metrics")[0][0],
            "batches": rows(store, "SELECT count(*) FROM ingest_batches")[0][0],
            "experiment": rows(store, "SELECT count(*) FROM experiments WHERE id = ?", experiment)[
                0
            ][0],
        }
        purges = allow_events(store, "trash.purge")
        if left["entry"]:
            assert left == {
                "entry": 1,
                "runs": 3,
                "summaries": 3,
                "points": 600_000,
                "batches": 12,
                "experiment": 1,
            }, left
            assert purges == []
        else:
            assert set(left.values()) == {0}, left
            assert purges == [(experiment, 4)]  # the experiment and its three runs
        print(f"after {delay}s: {'purged' if not left['entry'] else 'not purged'}")
    finally:
        store.close()


ERASE = """mutation { eraseDatasetRows(project: "p", dataset: "claims",
  filter: "customer_id = 'C-1042'") { __typename ... on DatasetErasure { id } } }"""
ERASURES = """{ dataset(project: "p", name: "claims") { ... on Dataset {
  erasures { id state problem total } versions { number rowCount } } } }"""


def erasures_and_versions(url: str) -> dict[str, Any]:
    found: dict[str, Any] = graphql_call(url, TOKEN, ERASURES)["data"]["dataset"]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 2.5])
def test_kill_9_mid_erasure_leaves_the_old_state_or_the_new_one_and_a_restart_finishes_it(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], delay: float
) -> None:
    """Erasing a subject from 3 versions of 200,000 rows, cut by SIGKILL ``delay`` seconds
    after the hub started on it: every version is as it was, or every one is rewritten with
    the erasure's record; the restarted hub carries the request out."""
    from hub.client.client import Client

    data_dir, log = tmp_path / "data", tmp_path / "hub.log"
    hub, url = serve(data_dir, log, started)
    client = Client(url, TOKEN)
    for version in range(3):
        source = tmp_path / f"claims-{version}.csv"
        lines = [
            f"{'C-1042' if i % 1000 == 7 else f'C-{i:06d}'},{i + version}" for i in range(200_000)
        ]
        source.write_text("customer_id,amount\n" + "\n".join(lines) + "\n")
        client.upload_dataset("p", "claims", source)
    before = {v["number"]: v["rowCount"] for v in erasures_and_versions(url)["versions"]}
    assert before == {1: 200_000, 2: 200_000, 3: 200_000}
    asked = graphql_call(url, TOKEN, ERASE)["data"]["eraseDatasetRows"]["id"]
    deadline = time.monotonic() + 30
    while erasures_and_versions(url)["erasures"][0]["state"] == "QUEUED":
        assert time.monotonic() < deadline, "the hub did not start on the request"
        time.sleep(0.05)
    time.sleep(delay)
    os.kill(hub.pid, signal.SIGKILL)
    hub.wait(timeout=20)

    store = open_store(data_dir / "salon.duckdb")
    try:
        assert store.audit.verify_sync([]).ok
        counts = dict(rows(store, "SELECT number, row_count FROM dataset_versions"))
        records = rows(store, "SELECT count(*) FROM dataset_erasures")[0][0]
        state = rows(store, "SELECT state FROM erasure_requests WHERE id = ?", asked)[0][0]
    finally:
        store.close()
    if records:
        assert counts == {1: 199_800, 2: 199_800, 3: 199_800} and state == "done", counts
    else:
        assert counts == before and state == "running", (counts, state)
    print(f"after {delay}s: {'erased' if records else 'not erased yet'}")

    _, url = serve(data_dir, log, started)
    deadline = time.monotonic() + 120
    while (found := erasures_and_versions(url))["erasures"][0]["state"] != "DONE":
        assert found["erasures"][0]["state"] != "FAILED", found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)
    assert [(e["id"], e["total"]) for e in found["erasures"]] == [(asked, 600)]
    assert {v["number"]: v["rowCount"] for v in found["versions"]} == {
        1: 199_800,
        2: 199_800,
        3: 199_800,
    }
    assert graphql_call(url, TOKEN, VERIFY)["data"]["auditVerification"]["ok"]
