"""Group commit: many callers' items written by one thread, each caller back once its own
group is written.

Calls that arrive while a group is being written form the next one, so a hundred concurrent
calls cost a few writes, not a hundred. The first caller of an idle queue starts the writing
thread, which writes groups until none is waiting. A failed write reaches every caller of its
group; nobody returns before their items are written. The database writes the audit events of
reads this way (see ``Database.record``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """``write(items)`` for the items of every caller waiting, on a thread of its own."""

    def __init__(self, write: Callable[[list[T]], None], thread_name: str) -> None:
        self._write = write
        # One thread: groups are written one after another, and never wait in line behind
        # other work.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._lock = threading.Lock()
        self._waiting: list[tuple[list[T], asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._writing = False

    async def add(self, items: Sequence[T]) -> None:
        """Return once ``items`` are written (or raise what writing their group raised)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiting.append((list(items), loop, done))
            lead = not self._writing
            self._writing = True
        if lead:  # the thread writes groups until none is waiting; this call need not wait
            loop.run_in_executor(self._thread, self._write_groups)
        await done

    def close(self) -> None:
        """Finish the group under way."""
        self._thread.shutdown(wait=True)

    def _write_groups(self) -> None:
        while True:
            with self._lock:
                group, self._waiting = self._waiting, []
                if not group:
                    self._writing = False
                    return
            try:
                self._write([item for items, _, _ in group for item in items])
            except BaseException as exc:  # every caller in the group hears of it
                failed: BaseException | None = exc
            else:
                failed = None
            for _, loop, done in group:
                with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle, done, failed)


def _settle(done: asyncio.Future[None], failed: BaseException | None) -> None:
    if done.cancelled():  # its request went away meanwhile
        return
    if failed is None:
        done.set_result(None)
    else:
        done.set_exception(failed)
