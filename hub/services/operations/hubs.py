"""What hubs sharing one database tell each other: each passes the changes the others committed
to its own listeners (GraphQL subscriptions, webhook delivery), a moment after they commit."""

from __future__ import annotations

from datetime import timedelta

from hub.clock import now
from hub.services.operations import leases
from hub.store import Store

FOLLOW_SECONDS = 0.25  # how soon a change on another hub reaches this hub's live clients
KEPT = timedelta(minutes=10)  # the commit log's memory: far longer than any hub lags
PRUNE = "commit-log"


async def catch_up(store: Store) -> int:
    """Pass on what the other hubs committed since the last call; how many changes."""
    return await store.catch_up() if store.shared else 0


async def prune(store: Store, every_seconds: float) -> None:
    """Forget the commits every hub has followed, and fold the metric points' small files
    together (one hub does it, holding the lease)."""
    if store.shared and await leases.ours(store, PRUNE, every_seconds):
        await store.forget_commits(now() - KEPT)
        await store.compact_points(now() - KEPT)
