"""Metric ingest and reads, with the checks that keep bad batches out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pyarrow as pa

from hub.domain.tracking import MetricSeries
from hub.errors import InvalidInput, LimitExceeded
from hub.services.policy import audit, permissions
from hub.services.policy.limits import MAX_SERIES_BUCKETS, MAX_SERIES_REQUEST
from hub.services.policy.permissions import READ
from hub.services.policy.principal import Principal
from hub.services.tracking.metric_batches import conform_batch, read_batch
from hub.services.tracking.runs import record_read, visible_runs, writable_run
from hub.store import Store
from hub.store import metrics as metric_store

HISTORY_SCHEMA = metric_store.HISTORY_SCHEMA  # the columns of a history stream
_BATCH_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,100}$")


async def may_ingest(store: Store, principal: Principal, run_id: str, batch_id: str) -> None:
    """Refuse, as :func:`ingest` would, a caller who may not log to the run (or a bad batch
    id), before the hub reads the body."""
    check_batch_id(batch_id)
    await writable_run(store, principal, run_id, "metrics.ingest")


def check_batch_id(batch_id: str) -> None:
    if not _BATCH_ID.match(batch_id):
        raise InvalidInput(
            "The batch id must be 1 to 100 letters, digits or - _ : . characters.",
            field="batch_id",
        )


async def ingest(
    store: Store, principal: Principal, run_id: str, batch_id: str, body: bytes
) -> int:
    """Store an Arrow IPC batch of points for a run once (see :func:`ingest_table`)."""
    return await ingest_table(store, principal, run_id, batch_id, read_batch(body))


async def ingest_table(
    store: Store, principal: Principal, run_id: str, batch_id: str, table: pa.Table
) -> int:
    """Store a batch of points for a run once; a retried batch id is acknowledged, not stored."""
    check_batch_id(batch_id)
    run = await writable_run(store, principal, run_id, "metrics.ingest")
    table = conform_batch(table)
    if table.num_rows == 0:
        return 0
    events = [
        audit.event(principal, "metrics.ingest", "run", run.id, run.project_id, rows=table.num_rows)
    ]
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


class SeriesBudget:
    """How many (run, metric) series one request may still ask for. The limit holds for the
    request, however many fields (``metricSeries``, each run's ``series``) or aliases ask."""

    def __init__(self, total: int = MAX_SERIES_REQUEST) -> None:
        self.left = total

    def take(self, count: int) -> None:
        if count > self.left:
            raise LimitExceeded(
                f"At most {MAX_SERIES_REQUEST} run-and-metric series per request, across all "
                "its fields and aliases; ask for fewer runs or metrics, or page through them."
            )
        self.left -= count


async def series(
    store: Store,
    principal: Principal,
    run_ids: list[str],
    keys: list[str],
    buckets: int,
    step_min: int | None = None,
    step_max: int | None = None,
    *,
    budget: SeriesBudget | None = None,
) -> list[MetricSeries]:
    """Downsampled series for each (run, key); see :meth:`MetricStore.series`. ``budget`` is
    the request's: what this call asks for is taken from it."""
    _check_series_request(run_ids, keys, buckets, (step_min, step_max))
    if budget is not None:
        budget.take(len(set(run_ids)) * max(len(set(keys)), 1))
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


async def points_json(
    store: Store, principal: Principal, run_id: str, key: str, limit: int, offset: int
) -> tuple[str, bool]:
    """One page of one series at full resolution, by step, as JSON (see
    ``MetricStore.points_json``), and whether more points follow."""
    if limit < 1 or offset < 0:
        raise InvalidInput("Ask for at least one point, from a position of 0 or more.")
    runs = await visible_runs(store, principal, [run_id], "metrics.history")
    text, count, more = await store.metrics.points_json(run_id, key, limit, offset)
    await record_read(store, principal, "metrics.history", runs, count)
    return text, more


async def metric_keys(store: Store, principal: Principal, project_id: str) -> list[str]:
    await permissions.require(
        store,
        principal,
        project_id,
        READ,
        action="metrics.keys",
        object_kind="project",
        object_id=project_id,
    )
    keys = await store.metrics.keys(project_id)
    await audit.read(store, principal, "metrics.keys", "project", project_id, project_id, len(keys))
    return keys
