"""Changes that wait for the write lock together are committed together, and one that fails
costs the others nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.domain.audit import AuditQuery
from hub.errors import InvalidInput
from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.store import Store, open_store
from hub.store.database import Cursor
from tests.store.helpers import HELD, WORKING, held_change


def _refused(cur: Cursor) -> None:
    cur.execute("UPDATE runs SET notes = 'lost with its change'")
    raise InvalidInput("This change is refused.")


def _tag(store: Store, run_id: str, key: str) -> asyncio.Future[None]:
    event = audit.event(SYSTEM, "run.set_tags", "run", run_id)
    return asyncio.ensure_future(store.runs.set_tags(run_id, [(key, "x")], audit=[event]))


def _queued(store: Store, run_id: str, refuse: int | None) -> list[object]:
    """Six changes (the ``refuse``-th one refused) sent while another holds the write lock at
    work; what each returned or raised."""
    HELD.clear()
    WORKING.clear()

    async def scenario() -> list[object]:
        held = audit.event(SYSTEM, "run.set_notes", "run", "held")
        holding = asyncio.ensure_future(store.db.audited_write([held], held_change))
        await asyncio.to_thread(WORKING.wait, 30)
        queued: list[asyncio.Future[object]] = []
        for i in range(6):
            if i == refuse:
                event = audit.event(SYSTEM, "run.set_notes", "run", run_id)
                queued.append(asyncio.ensure_future(store.db.audited_write([event], _refused)))
            else:
                queued.append(_tag(store, run_id, f"k{i}"))  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        assert not any(change.done() for change in queued), "they wait for the held one"
        HELD.set()
        await asyncio.wait_for(holding, 30)
        return list(await asyncio.wait_for(asyncio.gather(*queued, return_exceptions=True), 30))

    try:
        return asyncio.run(scenario())
    finally:
        HELD.set()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "salon.duckdb")
    yield opened  # type: ignore[misc]
    opened.close()


def _made_run(store: Store) -> str:
    return asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e"))).id


def test_changes_that_wait_together_commit_in_one_transaction(store: Store) -> None:
    run_id = _made_run(store)
    before = store.db.change_counts()
    assert _queued(store, run_id, refuse=None) == [None] * 6
    after = store.db.change_counts()
    assert after["changes"] - before["changes"] == 7
    assert after["transactions"] - before["transactions"] == 2, "the held one, then the six"
    tags = asyncio.run(store.runs.tags_for([run_id]))
    assert sorted(t.key for t in tags) == [f"k{i}" for i in range(6)]
    found = asyncio.run(store.audit.search(AuditQuery(action="run.set_tags"), limit=10))
    assert len(found) == 6 and len({e.at for e in found}) == 1, "one commit's time"
    assert asyncio.run(store.audit.verify()).ok


def test_a_change_refused_in_a_group_costs_the_others_nothing(store: Store) -> None:
    run_id = _made_run(store)
    before = store.db.change_counts()
    outcomes = _queued(store, run_id, refuse=2)
    assert isinstance(outcomes[2], InvalidInput) and "refused" in str(outcomes[2])
    assert outcomes[:2] + outcomes[3:] == [None] * 5
    after = store.db.change_counts()
    assert after["changes"] - before["changes"] == 6, "all but the refused one"
    assert after["transactions"] - before["transactions"] == 6, "the others again, one by one"
    tags = asyncio.run(store.runs.tags_for([run_id]))
    assert sorted(t.key for t in tags) == ["k0", "k1", "k3", "k4", "k5"]
    run = asyncio.run(store.runs.by_ids([run_id]))[run_id]
    assert run.notes != "lost with its change"
    found = asyncio.run(store.audit.search(AuditQuery(object_id=run_id), limit=20))
    assert "run.set_notes" not in {e.action for e in found}
    assert asyncio.run(store.audit.verify()).ok
