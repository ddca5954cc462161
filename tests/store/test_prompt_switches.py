"""While a change holds the write lock, or a group of reads' audit events the chain's, the
process's threads switch promptly, and as usual again once no such lock is held."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator

import pytest

from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.store import Store
from hub.store.chain_lock import ChainLock
from hub.store.prompt_switches import PROMPT, PromptLock

USUAL = 0.004  # not Python's default, so that putting back the default would not pass


@pytest.fixture
def usual_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(USUAL)
    yield
    sys.setswitchinterval(before)


def test_a_change_and_a_write_run_with_prompt_switches(store: Store, usual_interval: None) -> None:
    seen = store.db.audited_write_sync([], lambda cursor: sys.getswitchinterval())
    assert seen == pytest.approx(PROMPT)
    assert store.db.write_sync(lambda cursor: sys.getswitchinterval()) == pytest.approx(PROMPT)
    assert sys.getswitchinterval() == pytest.approx(USUAL)


def test_the_interval_stays_prompt_while_any_lock_is_held(usual_interval: None) -> None:
    first, second = PromptLock(), PromptLock()
    with first:
        assert sys.getswitchinterval() == pytest.approx(PROMPT)
        with second:
            assert sys.getswitchinterval() == pytest.approx(PROMPT)
        assert sys.getswitchinterval() == pytest.approx(PROMPT), "put back while one is held"
    assert sys.getswitchinterval() == pytest.approx(USUAL)
    assert first.acquire(blocking=False)
    assert not first.acquire(blocking=False), "a lock taken is not taken twice"
    first.release()
    assert sys.getswitchinterval() == pytest.approx(USUAL), "a refused acquire counts nothing"


def test_the_chain_s_lock_holds_prompt_for_reads_and_changes(usual_interval: None) -> None:
    chain = ChainLock()
    with chain.for_reads():
        assert sys.getswitchinterval() == pytest.approx(PROMPT)
    with chain.for_change():
        assert sys.getswitchinterval() == pytest.approx(PROMPT)
    assert sys.getswitchinterval() == pytest.approx(USUAL)


def test_concurrent_changes_and_reads_leave_the_usual_interval(
    store: Store, usual_interval: None
) -> None:
    """Changes from many threads and reads' events in groups, all at once, every change's work
    done with prompt switches; the usual interval back once all are done."""
    seen: list[float] = []

    def change() -> None:
        for _ in range(5):
            seen.append(store.db.audited_write_sync([], lambda cursor: sys.getswitchinterval()))

    async def reads() -> None:
        events = [audit.event(SYSTEM, "run.read", "run", f"r{n}", rows=1) for n in range(60)]
        made = await asyncio.gather(
            *(runs.create_run(store, SYSTEM, runs.NewRun("p", "e")) for _ in range(10))
        )
        await asyncio.gather(
            *(store.audit.record([event]) for event in events),
            *(runs.set_notes(store, SYSTEM, run.id, "n") for run in made),
        )

    threads = [threading.Thread(target=change) for _ in range(8)]
    for thread in threads:
        thread.start()
    asyncio.run(reads())
    for thread in threads:
        thread.join(60)
    assert seen == pytest.approx([PROMPT] * 40)
    assert sys.getswitchinterval() == pytest.approx(USUAL)
    assert asyncio.run(store.audit.verify()).ok


def test_a_child_forked_while_a_lock_is_held_switches_as_usual(usual_interval: None) -> None:
    """The threads holding locks are not in the child to let go of them."""
    readable, writable = os.pipe()
    with PromptLock():
        child = os.fork()
        if child == 0:  # pragma: no cover - the child
            os.write(writable, repr(sys.getswitchinterval()).encode())
            os._exit(0)
    os.waitpid(child, 0)
    os.close(writable)
    with os.fdopen(readable) as pipe:
        assert float(pipe.read()) == pytest.approx(USUAL)
    assert sys.getswitchinterval() == pytest.approx(USUAL)
