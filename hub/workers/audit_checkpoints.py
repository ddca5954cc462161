"""Sign the audit chain's head into the hub's keep (``<data dir>/audit-checkpoint.jws``, or the
shared database, by the hub holding the lease) every ``SALON_AUDIT_CHECKPOINT_SECONDS`` (a
no-op when nothing was added), and pick up keys rotated by ``salon keys rotate`` or another
hub."""

from __future__ import annotations

import asyncio
import logging

from hub.auth.keys import KeyRing
from hub.services.operations import leases
from hub.services.policy.audit_trail import write_checkpoint
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.audit")
WORK = "audit-checkpoint"


async def run(store: Store, settings: Settings, keys: KeyRing) -> None:
    last: tuple[int, str] | None = None
    every = settings.audit_checkpoint_seconds
    while True:
        try:
            await asyncio.to_thread(keys.reload)
            if store.audit.head != last and await leases.ours(store, WORK, every):
                last = await asyncio.to_thread(write_checkpoint, store, keys.keep, keys.sign_bytes)
        except Exception:
            log.exception("Could not write the audit checkpoint")
        await asyncio.sleep(every)
