"""Sample the Ray cluster every ``SALON_RAY_SAMPLE_SECONDS``, and release GPU bookings nothing
of their project has used for ``SALON_BOOKING_GRACE_MINUTES``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from connectors.ray import RayCluster
from hub.services.cluster import bookings, cluster
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.cluster")
WORK = "cluster-sampling"


async def sample_once(store: Store, settings: Settings, ray: RayCluster) -> bool:
    """One look at the cluster, recorded, then idle bookings released; whether it answered."""
    if not await cluster.record_sample(store, settings, ray):
        return False
    grace = timedelta(minutes=settings.booking_grace_minutes)
    for booking in await bookings.release_idle(store, grace):
        log.info("Released idle GPU booking %s", booking.id)
    return True


async def run(store: Store, settings: Settings) -> None:
    ray = cluster.connect(settings)
    if ray is None:
        return
    answered = True
    try:
        while True:
            try:
                if not await leases.ours(store, WORK, settings.ray_sample_seconds):
                    await asyncio.sleep(settings.ray_sample_seconds)
                    continue  # another hub samples the cluster
                ok = await sample_once(store, settings, ray)
            except Exception:
                log.exception("Sampling the Ray cluster failed")
                ok = False
            if ok != answered:
                log.warning(
                    "The Ray cluster at %s %s",
                    settings.ray_address,
                    "answers again" if ok else "does not answer",
                )
                answered = ok
            await asyncio.sleep(settings.ray_sample_seconds)
    finally:
        ray.close()
