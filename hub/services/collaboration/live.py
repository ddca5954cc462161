"""Live updates: what each committed change recorded, handed to the subscriptions waiting for it.

The store calls :meth:`Live.publish` from its worker thread after every commit; each
subscription has a queue on the event loop and decides for itself, with the subscriber's current
access, what to pass on. A subscriber too slow to keep up loses the oldest updates, never the
hub's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from hub.store import Store
from hub.store.database import Committed

QUEUE = 1000
# A subscriber's loop and queue, and the newest change from before it started listening.
Listening = tuple[asyncio.AbstractEventLoop, asyncio.Queue[Committed], int]


class Live:
    """Fan-out of committed changes to in-process subscribers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queues: set[Listening] = set()
        store.db.listeners.append(self.publish)

    def publish(self, committed: Committed) -> None:
        for loop, queue, since in list(self._queues):
            if committed.seq and committed.seq <= since:
                continue  # another hub's change from before the subscription, passed on late
            loop.call_soon_threadsafe(_offer, queue, committed)

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[asyncio.Queue[Committed]]:
        """A queue of every change committed while the context is open (on any hub sharing
        the database)."""
        queue = asyncio.Queue[Committed](maxsize=QUEUE)
        item = (asyncio.get_running_loop(), queue, self.store.db.passed_on)
        self._queues.add(item)
        try:
            yield queue
        finally:
            self._queues.discard(item)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.db.listeners.remove(self.publish)


def _offer(queue: asyncio.Queue[Committed], committed: Committed) -> None:
    if queue.full():
        queue.get_nowait()  # drop the oldest
    queue.put_nowait(committed)
