"""Deliver webhook messages from the outbox: at once when a change commits, and every second
for retries that have come due."""

from __future__ import annotations

import logging

from hub.errors import StoreUnavailable
from hub.services.collaboration.webhooks import Deliverer
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store
from hub.store.database import Committed
from hub.workers.wakes import until_set, woken_by

log = logging.getLogger("salon.webhooks")
WORK = "webhooks"


async def run(store: Store, settings: Settings) -> None:
    deliverer = Deliverer(store, settings)
    try:
        with woken_by(store, _queued_messages) as wake:
            while True:
                try:
                    ours = await leases.ours(store, WORK, 1.0)
                    sent = await deliverer.deliver_due() if ours else 0
                except StoreUnavailable:
                    sent = 0  # the database is away; the store's log says so
                except Exception:
                    log.exception("Delivering webhooks failed; trying again shortly")
                    sent = 0
                if not sent:
                    wake.clear()
                    await until_set(wake, 1.0)
    finally:
        await deliverer.close()


def _queued_messages(committed: Committed) -> bool:
    return bool(committed.outbox)
