"""Deliver webhook messages from the outbox: at once when a change commits, and every second
for retries that have come due."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hub.errors import StoreUnavailable
from hub.services.collaboration.webhooks import Deliverer
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store
from hub.store.database import Committed

log = logging.getLogger("salon.webhooks")
WORK = "webhooks"


async def run(store: Store, settings: Settings) -> None:
    deliverer = Deliverer(store, settings)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def nudge(committed: Committed) -> None:
        """Called (from any thread) when a change commits: wake when it queued messages."""
        if committed.outbox:
            loop.call_soon_threadsafe(wake.set)

    store.db.listeners.append(nudge)
    try:
        while True:
            try:
                sent = await deliverer.deliver_due() if await leases.ours(store, WORK, 1.0) else 0
            except StoreUnavailable:
                sent = 0  # the database is away; the store's log says so
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
