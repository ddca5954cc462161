"""Sample the Ray cluster every ``SALON_RAY_SAMPLE_SECONDS``, and release GPU bookings nothing
of their project has used for ``SALON_BOOKING_GRACE_MINUTES``. After a job is submitted or
stopped (through any hub sharing the database), the cluster is sampled every second for a
while: Ray starts or ends the job within seconds, and whoever watches the Resources page sees
it then rather than at the next regular sample."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from connectors.ray import RayCluster
from hub.services.cluster import bookings, cluster
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store
from hub.store.database import Committed
from hub.workers.wakes import until_set, woken_by

log = logging.getLogger("salon.cluster")
WORK = "cluster-sampling"
JOB_CHANGES = ("job.submit", "job.stop")
FOLLOW_SECONDS = 30.0  # how long a job change is followed closely
FOLLOW_EVERY = 1.0


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
    loop = asyncio.get_running_loop()
    answered = True
    following_until = 0.0
    try:
        with woken_by(store, _job_changed) as jobs_changed:
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
                if jobs_changed.is_set():
                    jobs_changed.clear()
                    following_until = loop.time() + FOLLOW_SECONDS
                pause = settings.ray_sample_seconds
                if loop.time() < following_until:
                    pause = min(FOLLOW_EVERY, pause)
                await until_set(jobs_changed, pause)
    finally:
        ray.close()


def _job_changed(committed: Committed) -> bool:
    return any(e.action in JOB_CHANGES and e.outcome == "allow" for e in committed.trail)
