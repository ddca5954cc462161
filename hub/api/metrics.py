"""Metric types: latest values and columnar, downsampled series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NewType

import strawberry

from hub.api.context import Info
from hub.domain.tracking import MetricSeries, MetricSummary
from hub.services.tracking import metrics


def _finite_or_none(values: Sequence[float]) -> Sequence[float | None]:
    """JSON has no NaN or infinity; they travel as null. Most columns have neither: checked
    first in one pass of C (a series answer is thousands of numbers)."""
    if all(map(math.isfinite, values)):
        return values if isinstance(values, list) else list(values)
    return [value if math.isfinite(value) else None for value in values]


def _refuse_input(value: object) -> list[float]:
    raise ValueError("FloatList is an output type only.")


FloatList = NewType("FloatList", Sequence[float])
FLOAT_LIST = strawberry.scalar(
    name="FloatList",
    description=(
        "A whole column of numbers as one JSON array (null where a value is NaN or infinite). "
        "Sent as a single value, which is many times faster than [Float!] for long series."
    ),
    serialize=_finite_or_none,
    parse_value=_refuse_input,
)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@strawberry.type(name="MetricSummary", description="The latest value and range of one metric.")
class MetricSummaryType:
    key: str = strawberry.field(description="Metric name, e.g. val_acc.")
    last_value: float | None = strawberry.field(
        description="Value at the highest step (null if NaN or infinite)."
    )
    last_step: float = strawberry.field(description="Highest step logged.")
    min_value: float | None = strawberry.field(description="Smallest value logged.")
    max_value: float | None = strawberry.field(description="Largest value logged.")
    point_count: int = strawberry.field(description="Number of points logged.")

    @classmethod
    def of(cls, record: MetricSummary) -> MetricSummaryType:
        return cls(
            key=record.key,
            last_value=_finite(record.last_value),
            last_step=float(record.last_step),
            min_value=_finite(record.min_value),
            max_value=_finite(record.max_value),
            point_count=record.point_count,
        )


@strawberry.type(
    name="MetricSeries",
    description=(
        "One metric of one run as parallel arrays. When downsampled, each entry is a bucket of "
        "steps: its last step and that step's value, the bucket's latest time, and its min and "
        "max values, so spikes survive."
    ),
)
class MetricSeriesType:
    run_id: strawberry.ID = strawberry.field(description="The run the points belong to.")
    key: str = strawberry.field(description="Metric name.")
    steps: FloatList = strawberry.field(description="Step of each point (last of its bucket).")
    timestamps: FloatList = strawberry.field(
        description="Milliseconds since the Unix epoch: the latest time in each bucket."
    )
    values: FloatList = strawberry.field(description="Value at each step.")
    mins: FloatList = strawberry.field(description="Smallest value in each bucket.")
    maxs: FloatList = strawberry.field(description="Largest value in each bucket.")
    point_count: int = strawberry.field(description="Points in the requested step range.")
    downsampled: bool = strawberry.field(description="True when points were merged into buckets.")

    @classmethod
    def of(cls, record: MetricSeries) -> MetricSeriesType:
        return cls(
            run_id=strawberry.ID(record.run_id),
            key=record.key,
            steps=FloatList(record.steps),
            timestamps=FloatList(record.timestamps),
            values=FloatList(record.values),
            mins=FloatList(record.mins),
            maxs=FloatList(record.maxs),
            point_count=record.point_count,
            downsampled=record.downsampled,
        )


async def resolve_series(
    info: Info,
    run_ids: list[str],
    keys: list[str],
    buckets: int,
    step_min: float | None,
    step_max: float | None,
) -> list[MetricSeriesType]:
    ctx = info.context
    found = await metrics.series(
        ctx.store,
        ctx.principal,
        run_ids,
        keys,
        buckets,
        None if step_min is None else int(step_min),
        None if step_max is None else int(step_max),
        budget=ctx.loaders.series_budget,
    )
    return [MetricSeriesType.of(record) for record in found]


@strawberry.type
class MetricQueries:
    @strawberry.field(
        description=(
            "Metric curves of several runs, downsampled on the server to at most `buckets` "
            "points each. Pass stepMin/stepMax to zoom: the same number of buckets then covers "
            "the narrower range. For every point at full resolution use GET /api/v1/metrics "
            "(Arrow IPC)."
        )
    )
    async def metric_series(
        self,
        info: Info,
        run_ids: list[strawberry.ID],
        keys: list[str],
        buckets: int = 1000,
        step_min: float | None = None,
        step_max: float | None = None,
    ) -> list[MetricSeriesType]:
        return await resolve_series(info, list(run_ids), keys, buckets, step_min, step_max)
