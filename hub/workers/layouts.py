"""Write again, in row groups that make deep pages quick, the Parquet uploads kept as they came
(``hub.services.data.dataset_layout``), one at a time, by the hub holding the work's lease:
looked for every few seconds, and at once after each one done."""

from __future__ import annotations

import asyncio
import logging

from hub.services.data import dataset_layout
from hub.services.operations import leases
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.layouts")
WORK = "dataset-layouts"
EVERY = 3.0
# Renewed between objects; one object written again may take a minute. Another hub taking over
# in the middle writes the same bytes again and finds the versions already moved.
LEASE = 60.0


async def run(store: Store, settings: Settings) -> None:
    layouts = dataset_layout.Layouts()
    while True:
        try:
            while await leases.ours(store, WORK, LEASE):
                done = await dataset_layout.lay_out_next(store, settings, layouts)
                if done is None:
                    break
                if done.moved:
                    log.info(
                        "Dataset object %s written again in row groups of at most %d rows",
                        done.object_hash,
                        dataset_layout.LAID_OUT_ROWS,
                    )
        except Exception:
            log.exception("Writing dataset objects again failed")
        await asyncio.sleep(EVERY)
