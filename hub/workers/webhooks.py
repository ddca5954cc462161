"""Deliver webhook messages from the outbox: at once when a change commits, and every second
for retries that have come due."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hub.services.collaboration.webhooks import Deliverer
from hub.settings import Settings
from hub.store import Store
from hub.store.database import Committed

log = logging.getLogger("salon.webhooks")


async def run(store: Store, settings: Settings) -> None:
    deliverer = Deliverer(store, settings)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def nudge(committed: Committed) -> None:
        """Called (from any thread) when a change commits: new entries may be in the outbox."""
        if committed.entries:
            loop.call_soon_threadsafe(wake.set)

    store.db.listeners.append(nudge)
    try:
        while True:
            try:
                sent = await deliverer.deliver_due()
            except Exception:
                log.exception("Delivering webhooks failed; trying again shortly")
                sent = 0
            if not sent:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=1.0)
    finally:
        store.db.listeners.remove(nudge)
        await deliverer.close()
