"""What operators watch (``/metrics``): queue depths and sizes, read now, for site admins."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.errors import Forbidden
from hub.services.collaboration import digests
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.store import Store


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    outbox_pending: int
    database_bytes: int
    object_files: int
    metric_points: int
    digests_due: int
    kept_reads: dict[str, int]  # how reads that may be kept were answered (see Database)
    changes: dict[str, int]  # changes committed and the transactions they took (see Database)


async def state(store: Store, principal: Principal) -> State:
    if not principal.is_admin:
        await audit.deny(store, principal, "metrics.read", "hub")
        raise Forbidden("Only site admins read the hub's metrics.")
    pending = await store.webhooks.pending_count()
    size, files = await asyncio.to_thread(_sizes, store)
    due = await digests.due_count(store)
    points = await store.metrics.count()
    return State(
        pending, size, files, points, due, store.db.kept_counts(), store.db.change_counts()
    )


def _sizes(store: Store) -> tuple[int, int]:
    return store.db.size_bytes(), store.objects.count()
