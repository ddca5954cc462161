"""What the hub does on its own while it runs, each a loop started and stopped by the app's
lifespan (:func:`start`): signing audit checkpoints, delivering webhooks, sending digests,
sampling the Ray cluster (and releasing idle GPU bookings), driving model checks, taking
scheduled backups, purging the trash, erasing data subjects' rows, writing kept uploads again in
row groups that read quickly and, on a shared database, following the other hubs' changes. Each
loop calls services for the work; a failed round is logged and tried again on the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from hub.auth.keys import KeyRing
from hub.services.operations import hubs, leases
from hub.settings import Settings
from hub.store import Store
from hub.workers import (
    audit_checkpoints,
    backups,
    cluster_sampling,
    digests,
    erasures,
    layouts,
    model_checks,
    other_hubs,
    trash,
    webhooks,
)

# The work one hub does for all.
LEASED = [
    audit_checkpoints.WORK,
    digests.WORK,
    cluster_sampling.WORK,
    model_checks.WORK,
    backups.WORK,
    webhooks.WORK,
    hubs.PRUNE,
    trash.WORK,
    erasures.WORK,
    layouts.WORK,
]


@dataclasses.dataclass
class Running:
    """The hub's background loops, for the lifespan to stop."""

    tasks: list[asyncio.Task[None]]
    deliveries: asyncio.Task[None]

    store: Store

    async def stop(self) -> None:
        """Cancel every loop, wait for webhook delivery to put down what it holds, and give
        the work's leases up for another hub to take over at once."""
        for task in [*self.tasks, self.deliveries]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.deliveries
        await leases.give_up(store=self.store, works=LEASED)


def start(store: Store, settings: Settings, keys: KeyRing) -> Running:
    loops = [
        audit_checkpoints.run(store, settings, keys),
        digests.run(store, settings),
        cluster_sampling.run(store, settings),
        model_checks.run(store, settings),
        backups.run(store, settings),
        other_hubs.run(store),
        trash.run(store, settings),
        erasures.run(store, settings),
        layouts.run(store, settings),
    ]
    return Running(
        [asyncio.create_task(loop) for loop in loops],
        asyncio.create_task(webhooks.run(store, settings)),
        store,
    )
