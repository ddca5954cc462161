"""What wakes a worker early: a change it cares about committing, in this hub or (passed on
by ``catch_up``) in another hub sharing the database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from hub.store import Store
from hub.store.database import Committed


@contextlib.contextmanager
def woken_by(store: Store, wanted: Callable[[Committed], bool]) -> Iterator[asyncio.Event]:
    """While inside: an event set when a commit is ``wanted`` (asked on the committing thread,
    so ``wanted`` must be quick)."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def nudge(committed: Committed) -> None:
        if wanted(committed):
            loop.call_soon_threadsafe(event.set)

    store.db.listeners.append(nudge)
    try:
        yield event
    finally:
        store.db.listeners.remove(nudge)


async def until_set(event: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``event`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
