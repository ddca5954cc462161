"""A read's answer leaves the hub only once the read's audit event is committed, however long
the events' group commit takes (``Database.record``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from hub.domain.audit import AuditQuery
from tests.api.test_discussions import a_run
from tests.conftest import LiveHub

RUN = "query($id: ID!) { run(id: $id) { __typename ... on Run { id } } }"


def test_an_answer_waits_until_its_read_is_in_the_chain(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)
    answered = threading.Event()
    answers: list[dict[str, Any]] = []

    def ask() -> None:
        answers.append(hub_server.graphql(RUN, {"id": run_id}))
        answered.set()

    asker = threading.Thread(target=ask)
    with hub_server.store.db._chain_lock:  # no group of reads' events can be committed
        asker.start()
        assert not answered.wait(1.5), "the answer left before its read was in the chain"
    assert answered.wait(30)
    asker.join()
    assert answers[0]["data"]["run"] == {"__typename": "Run", "id": run_id}
    reads = asyncio.run(
        hub_server.store.audit.search(AuditQuery(object_id=run_id, action="run.read"), limit=5)
    )
    assert reads, "the read is in the chain"
