"""Comments, the activity feed and inboxes, webhooks, tasks, digests, wiki pages and share links."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


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
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)
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
    detail: Mapping[str, Any]  # what a reader needs besides the summary (excerpt, status)


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationRecord:
    activity: ActivityRecord
    reason: str
    created_at: datetime
    read_at: datetime | None


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
