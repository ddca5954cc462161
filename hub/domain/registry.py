"""The model registry: models, versions, aliases and their moves, checks, reviews and review
queues."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from hub.domain.data import Column


@dataclasses.dataclass(frozen=True, slots=True)
class CheckSpec:
    """One check of a promotion policy (see services/registry/model_policy for their kinds)."""

    kind: str
    name: str = ""
    metric: str | None = None
    op: str = ">="
    value: float | None = None
    than: str = "production"  # the alias a no_worse or schema check compares with
    by: float = 0.0  # how much worse is allowed
    higher_is_better: bool = True
    entrypoint: str | None = None
    gpus: float = 0.0
    dataset_version: str | None = None  # given to a job check as SALON_DATASET_PATH
    samples: int = 20  # a review check: samples the reviewers must have decided

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        if self.kind == "metric":
            return f"{self.metric} {self.op} {self.value:g}"
        if self.kind == "no_worse":
            return f"{self.metric} no worse than {self.than}" + (
                f" by more than {self.by:g}" if self.by else ""
            )
        if self.kind == "schema":
            return f"inputs compatible with {self.than}"
        if self.kind == "review":
            return f"reviewers judge {self.value:.0%} or more correct ({self.samples} samples)"
        return f"job: {(self.entrypoint or '')[:60]}"


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """A model's promotion policy: the aliases it protects and what a version needs first."""

    protected: tuple[str, ...] = ("production",)
    checks: tuple[CheckSpec, ...] = ()
    approvals: int = 0
    approver_group: str | None = None  # approvals count only from its members, when set
    auto_move: str | None = None  # the alias to move once the version satisfies the policy


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
    updated_at: datetime | None = None  # renamed, described, a version added, an alias moved


@dataclasses.dataclass(frozen=True, slots=True)
class ModelVersionRecord:
    id: str
    model_id: str
    project_id: str
    number: int
    run_id: str | None  # None: registered from outside Salon (MLflow allows a bare source)
    source: str
    description: str
    tags: Mapping[str, str]
    inputs: tuple[Column, ...] | None  # the inputs the model takes, when its signature says
    policy: Policy  # the model's policy when the version was registered: its gate
    created_by: str
    created_at: datetime
    run_reference: str | None = None  # a run id given from outside, kept as given, not linked
    updated_at: datetime | None = None  # described, or an alias (a stage) moved to or from it


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
    spec: CheckSpec
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
    labels: tuple[str, ...]  # the labels a reviewer may choose from
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
