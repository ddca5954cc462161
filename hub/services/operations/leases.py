"""Periodic work that one hub does for every hub sharing the database: the hub holding the
work's lease does a round and renews it; when it stops (it died), another takes over once the
lease has run out. With one hub, its leases are always its own."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from hub.clock import now
from hub.store import Store

HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"  # this running hub
MIN_SECONDS = 30.0  # a lease outlives a few missed renewals: a slow round is no takeover


async def ours(store: Store, work: str, every_seconds: float) -> bool:
    """Whether this hub does ``work`` (done every ``every_seconds``) now: takes or renews its
    lease for three rounds, or reports that another hub holds it."""
    if not store.shared:
        return True  # the only hub: nothing to agree on, and no wait after a restart
    at = now()
    until = at + timedelta(seconds=max(3 * every_seconds, MIN_SECONDS))
    return await store.leases.take(work, HOLDER, at, until)


async def give_up(store: Store, works: list[str]) -> None:
    """Release this hub's leases (it is stopping), so that another hub takes over at once."""
    if not store.shared:
        return
    for work in works:
        await store.leases.release(work, HOLDER)
