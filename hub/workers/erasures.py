"""Carry out requests to erase a data subject's rows from datasets, one at a time, by the hub
holding the work's lease: looked for every two seconds, and at once after each one done."""

from __future__ import annotations

import asyncio
import logging

from hub.services.lifecycle import erasure
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.erasures")
WORK = "dataset-erasures"
LEASE = 60.0  # renewed between versions: an erasure of many minutes keeps its hub


async def still_ours(store: Store) -> bool:
    return await leases.ours(store, WORK, LEASE)


async def run(store: Store, settings: Settings, seconds: float = 2.0) -> None:
    while True:
        try:
            while await still_ours(store):
                done = await erasure.carry_out_next(store, settings, lambda: still_ours(store))
                if done is None:
                    break
                log.info("Erasure %s of dataset %s: %s", done.id, done.dataset_id, done.state)
        except erasure.Abandoned as exc:
            log.info("Erasure %s is carried out by another hub now", exc)
        except Exception:
            log.exception("Carrying out erasures failed")
        await asyncio.sleep(seconds)
