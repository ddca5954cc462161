"""Back the hub up into ``SALON_BACKUP_FOLDER`` every ``SALON_BACKUP_EVERY_HOURS``, keeping the
newest ``SALON_BACKUP_KEEP`` (off without a folder)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from hub.clock import now
from hub.services.operations import backups, leases
from hub.services.policy.principal import SYSTEM
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.backups")
WORK = "backups"


async def run(store: Store, settings: Settings) -> None:
    if not settings.backup_folder:
        return
    folder = Path(settings.backup_folder)
    while True:
        await asyncio.sleep(settings.backup_every_hours * 3600)
        stamp = now().strftime("%Y%m%dT%H%M%S%fZ")
        try:
            if not await leases.ours(store, WORK, settings.backup_every_hours * 3600):
                continue  # another hub takes the backups
            await backups.backup(store, settings.data_dir, SYSTEM, str(folder / f"salon-{stamp}"))
        except Exception:
            log.exception("The scheduled backup into %s failed", folder)
            continue
        kept = sorted(p for p in folder.glob("salon-*") if (p / backups.MANIFEST).is_file())
        for old in kept[: -settings.backup_keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("Backed up into %s (keeping %d)", folder, settings.backup_keep)
