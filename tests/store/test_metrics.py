"""Metric ingest, summaries and downsampling on a real DuckDB file."""

from __future__ import annotations

import asyncio
import math

import pyarrow as pa
import pytest

from hub.errors import InvalidInput, LimitExceeded, NotFound
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics, runs
from hub.store import Store
from tests.store.helpers import history_table, log_points, points


def new_run(store: Store) -> str:
    return asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e"))).id


def test_a_retried_batch_is_stored_once(store: Store) -> None:
    run_id = new_run(store)
    table = points({"loss": [3.0, 2.0, 1.0]})
    first = asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "batch-1", table))
    again = asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "batch-1", table))
    assert (first, again) == (3, 0)
    history = history_table(store, [run_id])
    assert history.column("value").to_pylist() == [3.0, 2.0, 1.0]


def test_summaries_follow_the_highest_step_even_when_batches_arrive_out_of_order(
    store: Store,
) -> None:
    run_id = new_run(store)
    log_points(store, run_id, {"loss": [5.0, 4.0]}, start_step=10)
    log_points(store, run_id, {"loss": [9.0, 0.5]}, start_step=0)
    (summary,) = asyncio.run(store.metrics.summaries([run_id]))
    assert (summary.last_step, summary.last_value) == (11, 4.0)
    assert (summary.min_value, summary.max_value, summary.point_count) == (0.5, 9.0, 4)


def test_downsampling_keeps_spikes_and_the_last_point(store: Store) -> None:
    run_id = new_run(store)
    values = [math.sin(i / 50) for i in range(10_000)]
    values[4321] = 100.0
    log_points(store, run_id, {"loss": values})
    (series,) = asyncio.run(metrics.series(store, SYSTEM, [run_id], ["loss"], 200))
    assert series.downsampled and series.point_count == 10_000
    assert len(series.steps) == 200
    assert max(series.maxs) == 100.0, "a one-step spike must survive downsampling"
    assert series.steps[-1] == 9_999 and series.values[-1] == values[-1]
    assert series.steps == sorted(series.steps)


def test_zooming_gives_finer_buckets_over_the_range(store: Store) -> None:
    run_id = new_run(store)
    log_points(store, run_id, {"loss": [float(i) for i in range(10_000)]})
    (zoomed,) = asyncio.run(
        metrics.series(store, SYSTEM, [run_id], ["loss"], 100, step_min=1000, step_max=1099)
    )
    assert not zoomed.downsampled
    assert zoomed.steps == list(range(1000, 1100))


def test_small_series_come_back_whole(store: Store) -> None:
    run_id = new_run(store)
    log_points(store, run_id, {"acc": [0.1, 0.2, 0.3]})
    (series,) = asyncio.run(metrics.series(store, SYSTEM, [run_id], ["acc"], 1000))
    assert series.values == [0.1, 0.2, 0.3] and not series.downsampled


def test_bad_batches_are_refused_and_lose_nothing(store: Store) -> None:
    run_id = new_run(store)
    log_points(store, run_id, {"loss": [1.0]})
    too_long = points({"x" * 300: [1.0]})
    with pytest.raises(LimitExceeded, match="limit is 250"):
        asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "b2", too_long))
    nulls = pa.table(
        {
            "key": pa.array(["loss", None]),
            "step": pa.array([1, 2], pa.int64()),
            "ts": pa.array([1, 2], pa.int64()),
            "value": pa.array([1.0, 2.0]),
        }
    )
    with pytest.raises(InvalidInput, match="null"):
        asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "b3", nulls))
    with pytest.raises(InvalidInput, match="batch id"):
        asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "bad id!", points({"a": [1]})))
    with pytest.raises(NotFound):
        asyncio.run(metrics.ingest_table(store, SYSTEM, "nope", "b4", points({"a": [1]})))
    with pytest.raises(InvalidInput, match="not an Arrow IPC stream"):
        asyncio.run(metrics.ingest(store, SYSTEM, run_id, "b5", b"\x00garbage"))
    history = history_table(store, [run_id])
    assert history.num_rows == 1


def test_series_requests_are_bounded(store: Store) -> None:
    run_id = new_run(store)
    with pytest.raises(LimitExceeded, match="buckets"):
        asyncio.run(metrics.series(store, SYSTEM, [run_id], ["a"], 0))
    with pytest.raises(LimitExceeded, match="series per request"):
        asyncio.run(metrics.series(store, SYSTEM, [run_id] * 21, [f"k{i}" for i in range(10)], 10))


def test_huge_step_numbers_bucket_without_overflow(store: Store) -> None:
    run_id = new_run(store)
    table = points({"loss": [1.0, 2.0, 3.0]})
    table = table.set_column(1, "step", pa.array([0, 2**61, 2**62], pa.int64()))
    asyncio.run(metrics.ingest_table(store, SYSTEM, run_id, "big", table))
    (series,) = asyncio.run(metrics.series(store, SYSTEM, [run_id], ["loss"], 1000))
    assert series.steps == [0, 2**61, 2**62] and series.values == [1.0, 2.0, 3.0]


def test_history_streams_in_batches_in_order(store: Store) -> None:
    runs_ = [new_run(store) for _ in range(2)]
    for run_id in runs_:
        log_points(store, run_id, {"b": [float(i) for i in range(2500)], "a": [1.0] * 1000})

    async def gather() -> list[pa.RecordBatch]:
        return [batch async for batch in store.metrics.history(runs_, None, rows_per_batch=700)]

    batches = asyncio.run(gather())
    assert len(batches) > 5 and all(batch.num_rows <= 700 for batch in batches)
    table = pa.Table.from_batches(batches)
    labels = list(zip(table["run_id"].to_pylist(), table["key"].to_pylist(), strict=True))
    assert labels == sorted(labels) and table.num_rows == 7000
    b_steps = [
        s
        for (r, k), s in zip(labels, table["step"].to_pylist(), strict=True)
        if (r, k) == (min(runs_), "b")
    ]
    assert b_steps == list(range(2500))


def test_a_consumer_that_stops_early_frees_the_worker(store: Store) -> None:
    def numbers(cur: object, count: int):  # type: ignore[no-untyped-def]
        yield from range(count)

    async def first_of_many() -> int:
        stream = store.db.stream(numbers, 1_000_000)
        try:
            return await anext(stream)
        finally:
            await stream.aclose()  # what Starlette does when a client goes away

    async def many() -> list[int]:
        return list(await asyncio.gather(*(first_of_many() for _ in range(20))))

    assert asyncio.run(many()) == [0] * 20  # more streams than worker threads: none stuck
    assert asyncio.run(store.projects.all()) == []
