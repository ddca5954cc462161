"""The audit trail: the events a change or read records, as drafted and as stored, and what
verifying the chain found."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hub.domain.collaboration import ActivityDraft


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


# What a change passes to the store: audit events and activity entries, written together.
EventDraft = AuditDraft | ActivityDraft
PRUNE = "audit.prune"  # the event recording that a retention policy emptied older events


@dataclasses.dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit page; every field optional."""

    actor_id: str | None = None
    project_id: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
