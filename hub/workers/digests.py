"""Send the digests that are due, every ``SALON_DIGEST_CHECK_SECONDS``."""

from __future__ import annotations

import asyncio
import logging

from hub.services.collaboration import digests
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.digests")
WORK = "digests"


async def run(store: Store, settings: Settings) -> None:
    while True:
        try:
            if await leases.ours(store, WORK, settings.digest_check_seconds):
                await digests.send_due(store, settings)
        except Exception:
            log.exception("Sending digests failed; trying again later")
        await asyncio.sleep(settings.digest_check_seconds)
