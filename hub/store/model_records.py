"""The model registry's records: models, versions, aliases, checks, reviews, review queues."""

from __future__ import annotations

import dataclasses
from datetime import datetime

# The model registry ------------------------------------------------------------------------

MODEL_CHECK_STATUSES = ("queued", "running", "passed", "failed")
REVIEW_VERDICTS = ("approve", "request_changes")


@dataclasses.dataclass(frozen=True, slots=True)
class ModelRecord:
    id: str
    project_id: str
    name: str
    description: str
    created_by: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ModelVersionRecord:
    id: str
    model_id: str
    project_id: str
    number: int
    run_id: str
    source: str
    description: str
    tags_json: str
    input_schema_json: str | None
    policy_json: str  # the model's policy when the version was registered: its gate
    created_by: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ModelAlias:
    model_id: str
    alias: str
    version_id: str
    moved_by: str
    moved_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class AliasMove:
    id: str
    model_id: str
    alias: str
    version_id: str | None  # None: the alias was removed
    previous_id: str | None
    moved_by: str
    moved_at: datetime
    automatic: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ModelCheck:
    id: str
    version_id: str
    position: int
    kind: str  # metric | no_worse | schema | job
    spec_json: str
    status: str  # queued | running | passed | failed
    detail: str
    job_id: str | None
    log: str
    started_at: datetime | None
    ended_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class ModelReview:
    id: str
    version_id: str
    user_id: str
    verdict: str  # approve | request_changes
    body: str
    at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewQueue:
    id: str
    version_id: str
    project_id: str
    dataset_version_id: str
    prediction_column: str
    truth_column: str | None
    labels_json: str
    per_item: int
    instructions: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class Judgement:
    id: str
    queue_id: str
    position: int
    user_id: str
    correct: bool
    label: str | None
    comment: str
    judged_at: datetime


# What the MLflow REST API keeps beyond runs ----------------------------------------------

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
    params_json: str
    tags_json: str
    created_by: str
    created_at: datetime
    updated_at: datetime


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
    tags_json: str
    logged_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RunOutput:
    run_id: str
    model_id: str
    step: int
