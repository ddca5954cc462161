"""The model registry: models, versions, aliases and their moves, checks, reviews and review
queues."""

from __future__ import annotations

import dataclasses
from datetime import datetime

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
