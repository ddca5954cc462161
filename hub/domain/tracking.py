"""Projects, experiments, runs and what they log: params, tags, metric summaries and series,
artifacts, logged models and the datasets runs read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

RUN_STATUSES = ("running", "finished", "failed", "killed")


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: str
    name: str
    description: str
    created_at: datetime
    created_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class ExperimentRecord:
    id: str
    project_id: str
    name: str
    description: str
    created_at: datetime
    created_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class RunEnvironment:
    """What reproducing a run needs, captured by the client when the run starts."""

    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    python_version: str | None = None
    host: str | None = None
    packages: tuple[str, ...] = ()

    @classmethod
    def of(cls, given: Any) -> RunEnvironment:
        """From anything with these fields: GraphQL's input, the run batch's parsed body."""
        return cls(
            given.git_commit,
            given.git_dirty,
            given.command,
            given.python_version,
            given.host,
            tuple(given.packages),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    project_id: str
    experiment_id: str
    name: str
    status: str
    user_name: str
    notes: str
    started_at: datetime
    ended_at: datetime | None
    environment: RunEnvironment
    created_by: str


@dataclasses.dataclass(frozen=True, slots=True)
class PointChunk:
    """A batch of one run's metric points (``BATCH_SCHEMA``). A batch id already stored for the
    run is acknowledged and not stored again; ``None``: a batch without one."""

    run_id: str
    batch_id: str | None
    points: pa.Table


@dataclasses.dataclass(frozen=True, slots=True)
class RunStart:
    """A run to store with its first params and tags (already ended, if its client said so)."""

    run: RunRecord
    params: Sequence[tuple[str, str]]
    tags: Sequence[tuple[str, str]]


@dataclasses.dataclass(frozen=True, slots=True)
class RunEnd:
    """A stored run to end: its final status and time, if its status is still ``was``."""

    run_id: str
    was: str
    status: str
    ended_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class KeyValue:
    run_id: str
    key: str
    value: str


@dataclasses.dataclass(frozen=True, slots=True)
class MetricSummary:
    run_id: str
    key: str
    last_step: int
    last_ts: int
    last_value: float
    min_value: float
    max_value: float
    point_count: int


@dataclasses.dataclass(frozen=True, slots=True)
class MetricSeries:
    """A metric's points, possibly downsampled into buckets (min, max and last per bucket)."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]
    mins: list[float]
    maxs: list[float]
    point_count: int
    downsampled: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RunPage:
    """One page of a run search. ``snapshot`` is the newest run id the search could see; later
    pages pass it back so that runs created meanwhile do not shift them."""

    runs: list[RunRecord]
    total: int | None  # None when the caller did not ask for it
    next_offset: int | None
    snapshot: str | None
    next_cursor: str | None = None  # set by the service: opaque, bound to the query


LOGGED_MODEL_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedModelRecord:
    """An MLflow 3 logged model: a named bundle of files written by a run."""

    id: str
    project_id: str
    experiment_id: str
    run_id: str | None
    name: str
    model_type: str
    status: str
    status_message: str
    params: Mapping[str, str]
    tags: Mapping[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedModelMetric:
    """A metric logged with a logged model (and its run): MLflow's ``model_id=`` metrics."""

    model_id: str
    run_id: str | None
    key: str
    value: float
    step: int
    timestamp: int  # milliseconds since 1970, as logged
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A file logged with a run or a logged model; its bytes are the object ``digest``."""

    owner_kind: str  # run | logged_model
    owner_id: str
    path: str
    digest: str
    size: int
    created_by: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RunInputRecord:
    """A dataset a run read, as MLflow's ``log_input`` describes it."""

    run_id: str
    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    profile: str
    tags: Mapping[str, str]
    logged_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RunOutput:
    run_id: str
    model_id: str
    step: int


@dataclasses.dataclass(frozen=True, slots=True)
class RunModelInput:
    """A logged model a run read (an evaluation run reads the model it scores)."""

    run_id: str
    model_id: str


# The columns an ingest batch carries; the run is given once per batch.
BATCH_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("step", pa.int64(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
