"""The Ray cluster as sampled: node samples, jobs, usage, quotas and GPU bookings."""

from __future__ import annotations

import dataclasses
from datetime import datetime


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
