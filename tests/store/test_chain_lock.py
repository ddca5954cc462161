"""The audit chain's lock: a change waiting for it goes before the next group of reads."""

from __future__ import annotations

import threading
import time

from hub.store.chain_lock import ChainLock


def test_a_waiting_change_goes_before_the_next_group_of_reads() -> None:
    chain = ChainLock()
    order: list[str] = []
    group_under_way = threading.Event()
    change_waits = threading.Event()

    def reads() -> None:  # as the group thread does: group after group, without a pause
        with chain.for_reads():
            group_under_way.set()
            change_waits.wait(5)
            time.sleep(0.05)  # the change is queued by now
            order.append("group 1")
        with chain.for_reads():
            order.append("group 2")

    def change() -> None:
        group_under_way.wait(5)
        change_waits.set()
        with chain.for_change():
            time.sleep(0.05)
            order.append("change")

    threads = [threading.Thread(target=reads), threading.Thread(target=change)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["group 1", "change", "group 2"]


def test_groups_and_changes_all_get_their_turn_one_at_a_time() -> None:
    chain = ChainLock()
    holders = 0
    most = 0
    done = {"change": 0, "reads": 0}
    count_lock = threading.Lock()

    def hold(kind: str) -> None:
        nonlocal holders, most
        with count_lock:
            holders += 1
            most = max(most, holders)
        time.sleep(0.0005)
        with count_lock:
            holders -= 1
            done[kind] += 1

    def changes() -> None:
        for _ in range(200):
            with chain.for_change():
                hold("change")

    def reads() -> None:
        for _ in range(200):
            with chain.for_reads():
                hold("reads")

    def plain() -> None:  # the head's reload takes the lock as a plain lock
        for _ in range(50):
            with chain:
                hold("reads")

    threads = [threading.Thread(target=work) for work in (changes, changes, reads, plain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "nobody waits for ever"
    assert done == {"change": 400, "reads": 250}
    assert most == 1
