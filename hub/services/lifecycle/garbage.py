"""Garbage collection (``salon gc``, for admins): purge what stayed in the trash longer than
``SALON_TRASH_DAYS``, and delete stored files no row refers to (left by an upload that was cut
off); or, as a dry run, say what would go and how many bytes."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.domain.lifecycle import Purged
from hub.errors import Forbidden
from hub.services.lifecycle import trash
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.store import Store


@dataclasses.dataclass(frozen=True, slots=True)
class Garbage:
    """What a collection removed, or would remove."""

    purged: Purged
    orphans: int  # stored files nothing refers to
    orphan_bytes: int
    dry_run: bool
    files_wait_for_backup: bool = False  # deleted once a backup under way has copied them

    @property
    def total_bytes(self) -> int:
        return self.purged.file_bytes + self.orphan_bytes


async def collect(
    store: Store, principal: Principal, days: int, *, dry_run: bool, recent: float = trash.RECENT
) -> Garbage:
    """Purge the trash entries older than ``days`` and the files nothing refers to (files
    stored within ``recent`` seconds are left: an upload may be about to record them)."""
    if not principal.is_admin:
        await audit.deny(store, principal, "gc.run", "store")
        raise Forbidden("Only a site admin may collect garbage for the whole hub.")
    if dry_run:
        purged = await trash.due(store, days)
    else:
        purged = await trash.purge_expired(store, days, principal=principal, recent=recent)
    keep = await asyncio.to_thread(store.referenced_objects_sync)
    orphans = await asyncio.to_thread(store.objects.unreferenced, keep, recent)
    swept: int | None = 0
    if orphans and not dry_run:
        swept = await store.deletions.sweep(store.referenced_objects_sync, recent)
    waiting = purged.files_wait_for_backup or swept is None
    found = Garbage(purged, len(orphans), sum(size for _, size in orphans), dry_run, waiting)
    rows = sum(count for _, count in purged.objects) + found.orphans
    await audit.read(
        store, principal, "gc.dry_run" if dry_run else "gc.run", "store", None, None, rows
    )
    return found
