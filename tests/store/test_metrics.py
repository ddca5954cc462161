"""Metric ingest, summaries and downsampling on a real DuckDB file."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import pyarrow as pa
import pytest

from hub.domain.tracking import PointChunk
from hub.errors import InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics, run_batches, runs
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


def test_many_runs_batches_in_one_write_are_each_stored_once(store: Store) -> None:
    """A sender's request: the runs' starts, their batches (one sent twice, one already stored)
    and their ends in one transaction; sent again, nothing more is stored or audited."""
    before = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e")))
    log_points_once = asyncio.run(
        metrics.ingest_table(store, SYSTEM, before.id, "old-1", points({"acc": [0.5]}))
    )
    assert log_points_once == 1
    ids = [new_id() for _ in range(3)]
    starts = [runs.NewRun("p", "e", name=f"r{i}", id=run_id) for i, run_id in enumerate(ids)]
    chunks = [
        PointChunk(ids[0], f"{ids[0]}:1", points({"loss": [3.0, 2.0], "acc": [0.1, 0.2]})),
        PointChunk(ids[1], f"{ids[1]}:1", points({"loss": [9.0]})),
        PointChunk(ids[1], f"{ids[1]}:1", points({"loss": [9.0]})),  # the same batch twice
        PointChunk(before.id, "old-1", points({"acc": [0.5]})),  # stored before
        PointChunk(before.id, "old-2", points({"acc": [0.7]}, start_step=1)),
    ]
    endings = [run_batches.Ending(ids[0], "finished"), run_batches.Ending(before.id, "failed")]
    batch = run_batches.RunBatch(starts, chunks, endings)
    events_before = store.audit.head[0]
    outcome = asyncio.run(run_batches.apply(store, SYSTEM, batch))
    assert (outcome.stored, outcome.refused) == (6, {})
    added = store.audit.head[0] - events_before
    again = asyncio.run(run_batches.apply(store, SYSTEM, batch))
    assert (again.stored, again.refused) == (0, {})
    assert store.audit.head[0] - events_before == added, "nothing audited twice"

    found = asyncio.run(store.runs.by_ids([*ids, before.id]))
    assert [found[i].status for i in [*ids, before.id]] == [
        "finished",
        "running",
        "running",
        "failed",
    ]
    history = history_table(store, [*ids, before.id])
    per_run = Counter(history.column("run_id").to_pylist())
    assert per_run == {ids[0]: 4, ids[1]: 1, before.id: 2}
    summaries = {(s.run_id, s.key): s for s in asyncio.run(store.metrics.summaries(ids))}
    assert summaries[(ids[0], "loss")].last_value == 2.0
    assert summaries[(ids[1], "loss")].point_count == 1
