"""The database's threads and locks on a real DuckDB file: a change is never queued behind
reads, and the audit events of reads are not queued behind a change's work."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.domain.audit import AuditDraft, AuditQuery
from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import runs
from hub.store import Store, open_store
from hub.store.database import Cursor
from tests.store.helpers import HELD, WORKING, held_change

RELEASE = threading.Event()


def _held_read(cur: object) -> int:
    RELEASE.wait(60)
    return 1


def test_a_change_does_not_wait_for_reads_that_fill_every_read_thread(tmp_path: Path) -> None:
    store = open_store(tmp_path / "salon.duckdb")
    RELEASE.clear()

    run_id = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e"))).id

    async def scenario() -> bool:
        reads = [asyncio.ensure_future(store.db.read(_held_read)) for _ in range(20)]
        await asyncio.sleep(0.1)  # every read thread now holds one, the rest wait in line
        tagged = store.runs.set_tags(run_id, [("stage", "not queued")], audit=[])
        await asyncio.wait_for(tagged, 30)
        still_reading = not any(read.done() for read in reads)
        RELEASE.set()
        await asyncio.gather(*reads)
        return still_reading

    try:
        assert asyncio.run(scenario()), "the change went through while the reads waited"
        tags = asyncio.run(store.runs.tags_for([run_id]))
        assert [(t.key, t.value) for t in tags] == [("stage", "not queued")]
    finally:
        RELEASE.set()
        store.close()


def _reader(user_id: str) -> Principal:
    return dataclasses.replace(SYSTEM, user_id=user_id, address="192.0.2.7")


def test_the_events_of_reads_do_not_wait_for_a_change_at_work(tmp_path: Path) -> None:
    """A read's audit event is committed while a change holds the write lock doing its work;
    the change's own event follows it in the chain, and the chain holds."""
    store = open_store(tmp_path / "salon.duckdb")
    HELD.clear()
    WORKING.clear()
    # The reader has used the hub before: their key exists (keys are made under the lock).
    first = audit.event(_reader("u-reader"), "run.read", "run", "r0", rows=1)
    asyncio.run(store.audit.record([first]))

    async def scenario() -> tuple[bool, bool]:
        change = audit.event(SYSTEM, "run.set_notes", "run", "r1")
        writing = asyncio.ensure_future(store.db.audited_write([change], held_change))
        await asyncio.to_thread(WORKING.wait, 30)
        read = audit.event(_reader("u-reader"), "run.read", "run", "r2", rows=1)
        await asyncio.wait_for(store.audit.record([read]), 30)
        change_waited = not writing.done()
        HELD.set()
        await asyncio.wait_for(writing, 30)
        return change_waited, writing.done()

    try:
        change_waited, change_done = asyncio.run(scenario())
        assert change_waited and change_done
        found = asyncio.run(store.audit.search(AuditQuery(), limit=10))
        order = [(e.action, e.object_id) for e in reversed(found)]
        assert order == [("run.read", "r0"), ("run.read", "r2"), ("run.set_notes", "r1")]
        assert {e.address for e in found if e.action == "run.read"} == {"192.0.2.7"}
        assert asyncio.run(store.audit.verify()).ok
    finally:
        HELD.set()
        store.close()


def test_a_reader_without_a_key_yet_waits_for_the_write_lock(tmp_path: Path) -> None:
    """A first read by someone with an address makes their key, which only happens under the
    write lock: it waits for the change at work, then its address is sealed and readable."""
    store = open_store(tmp_path / "salon.duckdb")
    HELD.clear()
    WORKING.clear()

    async def scenario() -> bool:
        change = audit.event(SYSTEM, "run.set_notes", "run", "r1")
        writing = asyncio.ensure_future(store.db.audited_write([change], held_change))
        await asyncio.to_thread(WORKING.wait, 30)
        read = audit.event(_reader("u-newcomer"), "run.read", "run", "r2", rows=1)
        recording = asyncio.ensure_future(store.audit.record([read]))
        await asyncio.sleep(0.3)
        waited = not recording.done()
        HELD.set()
        await asyncio.wait_for(asyncio.gather(writing, recording), 30)
        return waited

    try:
        assert asyncio.run(scenario()), "the newcomer's event went in without the write lock"
        found = asyncio.run(store.audit.search(AuditQuery(actor_id="u-newcomer"), limit=5))
        assert [(e.action, e.address) for e in found] == [("run.read", "192.0.2.7")]
        assert asyncio.run(store.audit.verify()).ok
    finally:
        HELD.set()
        store.close()


def _drop_key(cur: Cursor, actor_id: str) -> None:
    cur.execute("DELETE FROM person_keys WHERE actor_id = ?", [actor_id])


def _nothing(cur: Cursor) -> None:
    return None


def _read(store: Store, event: AuditDraft) -> None:
    asyncio.run(store.audit.record([event]))


def _changed(store: Store, event: AuditDraft) -> None:
    asyncio.run(store.db.audited_write([event], _nothing))


@pytest.mark.parametrize(("action", "record"), [("run.read", _read), ("run.rename", _changed)])
def test_a_key_destroyed_is_not_used_again(
    tmp_path: Path, action: str, record: Callable[[Store, AuditDraft], None]
) -> None:
    """People's keys are kept in memory for the events of reads and of changes; a change that
    destroys one (an erasure) drops what is kept. The person's next event is sealed with a new
    key: readable, while their earlier events read as erased."""
    store = open_store(tmp_path / "salon.duckdb")
    person = _reader("u-kept")
    try:
        record(store, audit.event(person, action, "run", "r1"))  # makes the key
        record(store, audit.event(person, action, "run", "r2"))  # reads it, and keeps it
        asyncio.run(store.db.audited_write([], _drop_key, "u-kept"))
        record(store, audit.event(person, action, "run", "r3"))
        found = asyncio.run(store.audit.search(AuditQuery(actor_id="u-kept"), limit=5))
        assert {e.object_id: e.address for e in found} == {
            "r1": "(erased)",
            "r2": "(erased)",
            "r3": "192.0.2.7",
        }
        assert asyncio.run(store.audit.verify()).ok
    finally:
        store.close()
