"""Drive model versions' job checks (submitted to the cluster, then watched) every two
seconds."""

from __future__ import annotations

import asyncio
import logging

from hub.services.operations import leases
from hub.services.registry import model_checks
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.models")
WORK = "model-checks"


async def run(store: Store, settings: Settings, seconds: float = 2.0) -> None:
    while True:
        try:
            if await leases.ours(store, WORK, seconds):
                await model_checks.step(store, settings)
        except Exception:
            log.exception("Running model checks failed")
        await asyncio.sleep(seconds)
