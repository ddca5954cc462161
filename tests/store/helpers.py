"""Small builders for store tests."""

from __future__ import annotations

import asyncio
import threading

import pyarrow as pa

from hub.ids import new_id
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics
from hub.store import Store


def points(values: dict[str, list[float]], start_step: int = 0) -> pa.Table:
    keys, steps, stamps, flat = [], [], [], []
    for key, series in values.items():
        for offset, value in enumerate(series):
            keys.append(key)
            steps.append(start_step + offset)
            stamps.append(1_700_000_000_000 + start_step + offset)
            flat.append(value)
    return pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "ts": pa.array(stamps, pa.int64()),
            "value": pa.array(flat, pa.float64()),
        }
    )


def log_points(
    store: Store, run_id: str, values: dict[str, list[float]], start_step: int = 0
) -> int:
    table = points(values, start_step)
    return asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, new_id(), table))


def history_table(store: Store, run_ids: list[str], keys: list[str] | None = None) -> pa.Table:
    """The streamed history of some runs, gathered into one table."""

    async def gather() -> pa.Table:
        batches = [batch async for batch in await metrics.history(store, SYSTEM, run_ids, keys)]
        return pa.Table.from_batches(batches, schema=metrics.HISTORY_SCHEMA)

    return asyncio.run(gather())


HELD = threading.Event()  # set to let held_change finish
WORKING = threading.Event()  # set once held_change is at work, holding the write lock


def held_change(cur: object) -> None:
    """A change's work that holds the write lock until HELD is set (clear both first)."""
    WORKING.set()
    HELD.wait(60)
