"""Frozen records the store hands upward. Nothing above the store sees a row or a cursor."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

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


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRecord:
    """A personal API token. ``scope_projects`` None means every project its owner may reach;
    ``scope_write`` False narrows it to reading."""

    id: str
    name: str
    user_id: str
    user_name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    scope_projects: tuple[str, ...] | None = None
    scope_write: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    name: str
    display_name: str
    email: str | None
    is_admin: bool
    is_compliance: bool
    created_at: datetime
    disabled_at: datetime | None
    issuer: str | None = None
    subject: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    name: str
    description: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A role on a project held by a person (``subject_kind`` "user") or a group."""

    project_id: str
    subject_kind: str
    subject_id: str
    role: str
    pii: bool
    granted_by: str
    granted_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class AuditDraft:
    """What a service knows about one access or change; the store adds time, order and hash."""

    actor_id: str
    auth_method: str
    auth_id: str | None
    address: str | None
    action: str
    object_kind: str
    object_id: str | None
    project_id: str | None
    outcome: str = "allow"
    row_count: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: datetime
    actor_id: str
    auth_method: str
    auth_id: str | None
    address: str | None
    action: str
    object_kind: str
    object_id: str | None
    project_id: str | None
    outcome: str
    row_count: int | None
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``salon audit verify`` found: the events checked and the first broken one."""

    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetRecord:
    id: str
    project_id: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    fixed_schema: bool = False  # new versions must keep the latest version's columns and types


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetFile:
    """One Parquet object of a version, stored once under ``<data dir>/objects`` by SHA-256."""

    object_hash: str
    row_count: int
    size_bytes: int
    location: str | None = None  # registered in place: the file's path or s3:// address
    source_mtime: float | None = None
    source_etag: str | None = None  # S3's ETag of the object registered


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetVersionRecord:
    id: str
    dataset_id: str
    project_id: str
    number: int
    parent_id: str | None
    author: str
    message: str
    created_at: datetime
    content_hash: str
    row_count: int
    size_bytes: int
    schema_json: str
    profile_json: str
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnNote:
    """What an owner says about a column, and whether it holds personal data."""

    dataset_id: str
    name: str
    description: str
    pii: bool
    updated_by: str
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetUse:
    """A run read (``input``) or produced (``output``) a dataset version."""

    run_id: str
    version_id: str
    dataset_id: str
    project_id: str
    direction: str
    recorded_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Annotation:
    """A person's label, note or thumbs up/down on one row of a version."""

    row_number: int
    label: str | None
    note: str | None
    vote: int | None
    author: str
    created_at: datetime


# Discussions, activity and inboxes ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class CommentRecord:
    """A comment on an object, in a thread; ``body`` is Markdown as written (empty once
    deleted)."""

    id: str
    project_id: str
    target_kind: str
    target_id: str
    thread_id: str
    parent_id: str | None
    anchor: str | None  # JSON
    author_id: str
    body: str
    created_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CommentEdit:
    comment_id: str
    body: str
    edited_by: str
    edited_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Reaction:
    comment_id: str
    user_id: str
    emoji: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Mention:
    subject_kind: str  # user | group
    subject_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityDraft:
    """A change as the activity feed shows it, and the people whose inbox it reaches
    (user id, reason). Passed with a change's audit events and written in its transaction."""

    actor_id: str
    project_id: str | None
    verb: str
    object_kind: str
    object_id: str | None
    summary: str
    detail: str = "{}"  # JSON
    target_kind: str | None = None
    target_id: str | None = None
    guard_kind: str | None = None
    guard_id: str | None = None
    recipients: tuple[tuple[str, str], ...] = ()
    at: datetime | None = None  # when it happened, if not now (history recorded afterwards)


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityRecord:
    id: str
    at: datetime
    actor_id: str
    project_id: str | None
    verb: str
    object_kind: str
    object_id: str | None
    target_kind: str | None
    target_id: str | None
    guard_kind: str | None
    guard_id: str | None
    summary: str
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationRecord:
    activity: ActivityRecord
    reason: str
    created_at: datetime
    read_at: datetime | None


# What a change passes to the store: audit events and activity entries, written together.
EventDraft = AuditDraft | ActivityDraft


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: str
    project_id: str
    url: str
    secret: str
    events: list[str]
    format: str  # standard | slack
    created_by: str
    created_at: datetime
    failures: int = 0
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A message in the outbox: one activity entry for one webhook, and how sending it went."""

    id: str
    webhook_id: str
    activity_id: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status: int | None
    last_error: str | None


TASK_STATUSES = ("todo", "doing", "review", "done")


@dataclasses.dataclass(frozen=True, slots=True)
class TaskRecord:
    id: str
    project_id: str
    number: int
    title: str
    description: str
    status: str
    assignee_id: str | None
    due_date: date | None
    labels: list[str]
    close_with_run: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, id) of the objects it is about


@dataclasses.dataclass(frozen=True, slots=True)
class DigestSettings:
    user_id: str
    frequency: str  # off | daily | weekly
    time_zone: str
    last_sent_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PageRecord:
    """A wiki page or notebook with its latest version (or the version asked for)."""

    id: str
    project_id: str
    slug: str
    kind: str  # page | notebook
    run_id: str | None
    created_by: str
    created_at: datetime
    number: int = 0
    title: str = ""
    body: str = ""
    message: str = ""
    author_id: str = ""
    updated_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class NodeSample:
    sampled_at: datetime
    node_id: str
    address: str
    alive: bool
    cpus: float
    cpus_used: float
    gpus: float
    gpus_used: float
    gpu_utilization: float | None = None  # mean %, when the node reports its GPUs
    gpu_memory_used_mb: float | None = None
    gpu_memory_total_mb: float | None = None
    name: str | None = None  # Ray's name for the node (None: sampled before names were kept)
    is_head: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterJob:
    submission_id: str
    status: str
    entrypoint: str
    user_name: str
    project: str | None
    gpus: float
    cpus: float
    run_id: str | None
    submitted_by: str | None
    started_at: datetime | None
    ended_at: datetime | None
    message: str
    last_seen: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterCheck:
    checked_at: datetime
    ok: bool
    error: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Resource-hours of one group (a person, project or team) in one period."""

    period: datetime
    who: str
    gpu_hours: float
    cpu_hours: float
    jobs: int


@dataclasses.dataclass(frozen=True, slots=True)
class Quota:
    scope_kind: str  # project | team
    scope_id: str
    name: str
    gpus: float
    set_by: str
    set_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Booking:
    id: str
    project_id: str
    user_id: str
    gpus: float
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    note: str
    created_at: datetime
    released_at: datetime | None = None
    release_reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ShareLinkRecord:
    """A read-only link to one view of one object (``arguments`` is the view's JSON: which runs,
    which metrics, how many days)."""

    id: str
    project_id: str
    view: str
    object_id: str
    arguments: str
    title: str
    created_by: str
    created_by_name: str
    created_at: datetime
    expires_at: datetime
    signed_in_only: bool
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_viewed_at: datetime | None = None
