"""Changes first (``hub.priority``): a mutation or a batch of runs is answered while every
thread of the store's reads is busy and more reads wait in line, on a real hub over a real
DuckDB file."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import hub
from tests.api.test_discussions import ADD, a_run
from tests.conftest import LiveHub
from tests.mlflow.sides import Side

# More than the store's read threads (8): every one of them is held, and the rest wait in line.
HELD_READS = 20


class HeldReads:
    """Reads that hold every read thread of a hub's store, started from a thread of their own
    as a busy hub's readers would be, until released."""

    def __init__(self, live: LiveHub) -> None:
        self.live = live
        self.reads: list[asyncio.Future[Any]] = []
        self.let_go = threading.Event()
        self.holder: threading.Thread | None = None

    def hold(self) -> None:
        ready = threading.Event()

        def held(cursor: object) -> int:
            self.let_go.wait(120)
            return 1

        async def holding() -> None:
            reads = [self.live.store.db.read(held) for _ in range(HELD_READS)]
            self.reads.extend(asyncio.ensure_future(read) for read in reads)
            ready.set()
            await asyncio.gather(*self.reads)

        self.holder = threading.Thread(target=asyncio.run, args=(holding(),), daemon=True)
        self.holder.start()
        assert ready.wait(30)

    def still_held(self) -> bool:
        return not any(read.done() for read in self.reads)

    def release(self) -> None:
        self.let_go.set()
        if self.holder is not None:
            self.holder.join(60)


@pytest.fixture
def held_reads(hub_server: LiveHub) -> Iterator[HeldReads]:
    held = HeldReads(hub_server)
    try:
        yield held
    finally:
        held.release()


def test_a_comment_is_stored_while_reads_wait_in_line(
    hub_server: LiveHub, held_reads: HeldReads
) -> None:
    # Made before, so that the token was checked in the last seconds, as a busy writer's is:
    # checking a token is a read like any other.
    run_id = a_run(hub_server)
    held_reads.hold()
    variables = {"k": "RUN", "id": run_id, "body": "Answered ahead of the readers, @nobody."}
    added = hub_server.graphql(ADD, variables)["data"]["addComment"]
    assert added["__typename"] == "Comment", added
    assert held_reads.still_held(), "the reads were let go meanwhile"


def test_a_run_is_logged_and_finished_while_reads_wait_in_line(
    hub_server: LiveHub, held_reads: HeldReads
) -> None:
    a_run(hub_server)  # the token checked and the place known, as for a busy writer
    held_reads.hold()
    run = hub.init(
        project="vision",
        experiment="detector",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    run.log({"loss": 0.5}, step=0)
    run.finish()  # returns once the hub has stored the run, its point and its end
    assert held_reads.still_held(), "the reads were let go meanwhile"
    held_reads.release()
    stored = asyncio.run(hub_server.store.runs.by_ids([run.id]))
    assert stored[run.id].status == "finished"


def test_mlflow_s_client_logs_while_reads_wait_in_line(
    hub_server: LiveHub, held_reads: HeldReads
) -> None:
    from mlflow.entities import Metric, Param

    salon = Side("Salon", hub_server.url, hub_server.token)
    with salon.client() as client:
        experiment = client.create_experiment("ahead")
        run_id = client.create_run(experiment).info.run_id
        held_reads.hold()
        client.log_batch(run_id, metrics=[Metric("loss", 0.5, 0, 0)], params=[Param("lr", "3")])
        client.set_tag(run_id, "stage", "ahead")  # (set_terminated reads the run first)
        assert held_reads.still_held(), "the reads were let go meanwhile"
        held_reads.release()
        run = client.get_run(run_id)
    assert run.data.tags["stage"] == "ahead"
    assert run.data.params == {"lr": "3"} and run.data.metrics == {"loss": 0.5}
