"""Sign the audit chain's head into ``<data dir>/audit-checkpoint.jws`` every
``SALON_AUDIT_CHECKPOINT_SECONDS`` (a no-op when nothing was added), and pick up keys rotated by
``salon keys rotate``."""

from __future__ import annotations

import asyncio
import logging

from hub.auth.keys import KeyRing
from hub.services.policy.audit_trail import write_checkpoint
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.audit")


async def run(store: Store, settings: Settings, keys: KeyRing) -> None:
    last: tuple[int, str] | None = None
    while True:
        try:
            if store.audit.head != last:
                last = await asyncio.to_thread(
                    write_checkpoint, store, settings.data_dir, keys.sign_bytes
                )
            await asyncio.to_thread(keys.reload)
        except Exception:
            log.exception("Could not write the audit checkpoint")
        await asyncio.sleep(settings.audit_checkpoint_seconds)
