"""Follow the changes other hubs sharing the database commit, every
``hubs.FOLLOW_SECONDS``, and prune the commit log now and then (a shared database only)."""

from __future__ import annotations

import asyncio
import logging

from hub.errors import StoreUnavailable
from hub.services.operations import hubs
from hub.store import Store

log = logging.getLogger("salon.hubs")
PRUNE_SECONDS = 60.0


async def run(store: Store) -> None:
    if not store.shared:
        return
    rounds_per_prune = int(PRUNE_SECONDS / hubs.FOLLOW_SECONDS)
    round_number = 0
    answering = True
    while True:
        try:
            await hubs.catch_up(store)
            if round_number % rounds_per_prune == 0:
                await hubs.prune(store, PRUNE_SECONDS)
            if not answering:
                log.warning("The database answers again; following the other hubs")
            answering = True
        except StoreUnavailable:
            answering = False  # said once, by the store's log, per failed request
        except Exception:
            log.exception("Following the other hubs' changes failed; trying again shortly")
        round_number += 1
        await asyncio.sleep(hubs.FOLLOW_SECONDS)
