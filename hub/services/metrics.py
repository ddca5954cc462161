"""Metric ingest and reads, with the checks that keep bad batches out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pyarrow as pa
import pyarrow.compute as pc

from hub.errors import InvalidInput, LimitExceeded
from hub.services import audit, permissions
from hub.services.limits import MAX_KEY, MAX_SERIES_BUCKETS, MAX_SERIES_REQUEST
from hub.services.permissions import READ
from hub.services.principal import Principal
from hub.services.runs import record_read, visible_runs, writable_run
from hub.store import Store
from hub.store import metrics as metric_store
from hub.store.metrics import BATCH_SCHEMA
from hub.store.records import MetricSeries

HISTORY_SCHEMA = metric_store.HISTORY_SCHEMA  # the columns of a history stream
_BATCH_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,100}$")


def read_batch(body: bytes) -> pa.Table:
    """Decode an Arrow IPC stream into a table, or say what is wrong with it."""
    try:
        with pa.ipc.open_stream(body) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InvalidInput(
            f"The body is not an Arrow IPC stream ({exc}). Send columns key (string), "
            "step (int64), ts (int64, ms since epoch) and value (float64)."
        ) from None


def conform_batch(table: pa.Table) -> pa.Table:
    """``table`` as ``BATCH_SCHEMA``: right columns, right types, no nulls, names in limits."""
    missing = [name for name in BATCH_SCHEMA.names if name not in table.column_names]
    if missing:
        raise InvalidInput(
            f"The batch lacks column(s) {', '.join(missing)}; expected key, step, ts, value."
        )
    table = table.select(BATCH_SCHEMA.names)
    for name in BATCH_SCHEMA.names:
        if table.column(name).null_count:
            raise InvalidInput(f"Column {name!r} has empty (null) entries; every point needs one.")
    try:
        table = table.cast(BATCH_SCHEMA, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(
            f"A column has the wrong type ({exc}); expected key: string, step: int64, "
            "ts: int64, value: float64."
        ) from None
    if table.num_rows == 0:
        return table
    lengths = pc.utf8_length(table.column("key"))
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > MAX_KEY:
        raise LimitExceeded(f"A metric name is {longest} characters long; the limit is {MAX_KEY}.")
    if pc.min(lengths).as_py() == 0:
        raise InvalidInput("A metric name is empty; every point needs a name.")
    return table


async def ingest(
    store: Store, principal: Principal, run_id: str, batch_id: str, body: bytes
) -> int:
    """Store an Arrow IPC batch of points for a run once (see :func:`ingest_table`)."""
    return await ingest_table(store, principal, run_id, batch_id, read_batch(body))


async def ingest_table(
    store: Store, principal: Principal, run_id: str, batch_id: str, table: pa.Table
) -> int:
    """Store a batch of points for a run once; a retried batch id is acknowledged, not stored."""
    if not _BATCH_ID.match(batch_id):
        raise InvalidInput(
            "The batch id must be 1 to 100 letters, digits or - _ : . characters.",
            field="batch_id",
        )
    run = await writable_run(store, principal, run_id, "metrics.ingest")
    table = conform_batch(table)
    if table.num_rows == 0:
        return 0
    events = [audit.event(principal, "metrics.ingest", "run", run.id, run.project_id,
                          rows=table.num_rows)]  # fmt: skip
    return await store.metrics.ingest(run_id, batch_id, table, audit=events)


INT64_MAX = 2**63 - 1


def _check_series_request(
    run_ids: list[str], keys: list[str], buckets: int, steps: tuple[int | None, int | None]
) -> None:
    for step in steps:
        if step is not None and not -INT64_MAX <= step <= INT64_MAX:
            raise InvalidInput(
                "stepMin and stepMax must be whole numbers between -9.2e18 and 9.2e18."
            )
    if not 1 <= buckets <= MAX_SERIES_BUCKETS:
        raise LimitExceeded(f"Ask for 1 to {MAX_SERIES_BUCKETS} buckets (got {buckets}).")
    if len(run_ids) * max(len(keys), 1) > MAX_SERIES_REQUEST:
        raise LimitExceeded(
            f"At most {MAX_SERIES_REQUEST} run-and-metric series per request "
            f"(asked for {len(run_ids)} runs x {len(keys)} metrics)."
        )


async def series(
    store: Store,
    principal: Principal,
    run_ids: list[str],
    keys: list[str],
    buckets: int,
    step_min: int | None = None,
    step_max: int | None = None,
) -> list[MetricSeries]:
    """Downsampled series for each (run, key); see :meth:`MetricStore.series`."""
    _check_series_request(run_ids, keys, buckets, (step_min, step_max))
    runs = await visible_runs(store, principal, run_ids, "metrics.series")
    found = await store.metrics.series(run_ids, keys, buckets, step_min, step_max)
    await record_read(store, principal, "metrics.series", runs, len(found))
    return found


async def history(
    store: Store, principal: Principal, run_ids: list[str], keys: list[str] | None
) -> AsyncIterator[pa.RecordBatch]:
    """Every point of the runs (optionally only ``keys``) at full resolution, as Arrow record
    batches. Checks run here, before the first batch is read."""
    if not run_ids:
        raise InvalidInput("Name at least one run id.", field="run_id")
    if len(run_ids) > 1000:
        raise LimitExceeded("Ask for at most 1000 runs at a time.", field="run_id")
    runs = await visible_runs(store, principal, run_ids, "metrics.history")
    points = sum(
        s.point_count
        for s in await store.metrics.summaries(run_ids)
        if keys is None or s.key in keys
    )
    await record_read(store, principal, "metrics.history", runs, points)
    return store.metrics.history(run_ids, keys)


async def metric_keys(store: Store, principal: Principal, project_id: str) -> list[str]:
    await permissions.require(
        store, principal, project_id, READ, action="metrics.keys", object_kind="project",
        object_id=project_id,
    )  # fmt: skip
    keys = await store.metrics.keys(project_id)
    await audit.read(store, principal, "metrics.keys", "project", project_id, project_id, len(keys))
    return keys
