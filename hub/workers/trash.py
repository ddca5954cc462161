"""Every hour, by the hub holding the lease: apply the projects' retention policies (what they
no longer keep goes to the trash), then purge what stayed in the trash longer than
``SALON_TRASH_DAYS``."""

from __future__ import annotations

import asyncio
import logging

from hub.services.lifecycle import retention, trash
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.trash")
WORK = "trash-purge"
EVERY = 3600.0


async def run(store: Store, settings: Settings) -> None:
    while True:
        try:
            if await leases.ours(store, WORK, EVERY):
                moved = await retention.apply_all(store)
                if moved:
                    log.info("Retention policies moved %d objects to the trash", moved)
                purged = await trash.purge_expired(store, settings.trash_days)
                if purged.entries:
                    log.info(
                        "Purged %d trash entries older than %d days (%d files, %d bytes)",
                        len(purged.entries),
                        settings.trash_days,
                        len(purged.files),
                        purged.file_bytes,
                    )
        except Exception:
            log.exception("Could not purge the trash")
        await asyncio.sleep(EVERY)
