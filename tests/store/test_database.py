"""The database's threads on a real DuckDB file: a change is never queued behind reads."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.store import open_store

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
