"""What a change tells the team: its entry in the activity feed and the inboxes it reaches.

Services build the entry with :func:`entry` next to the change's audit events
(:mod:`hub.services.policy.audit`); the store writes both in the change's own transaction.
Reading the feed is :mod:`hub.services.collaboration.activity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.domain.collaboration import ActivityDraft
from hub.services.policy.principal import Principal

if TYPE_CHECKING:
    from hub.services.collaboration.targets import Target


def entry(
    principal: Principal,
    verb: str,
    object_kind: str,
    object_id: str | None,
    project_id: str | None,
    summary: str,
    *,
    target: Target | None = None,
    guard: tuple[str, str] | None = None,
    detail: Mapping[str, Any] | None = None,
    recipients: list[tuple[str, str]] | None = None,
    at: datetime | None = None,
) -> ActivityDraft:
    """One feed entry for a change by ``principal``; ``recipients`` (user id, reason) get it
    in their inbox. ``target``: what the object is about (a comment's object). ``at``: when it
    happened, for history recorded afterwards (imports, the demo)."""
    guard = guard or (target.guard if target else None)
    return ActivityDraft(
        principal.user_id,
        project_id,
        verb,
        object_kind,
        object_id,
        summary[:300],
        dict(detail or {}),
        target.kind if target else None,
        target.id if target else None,
        guard[0] if guard else None,
        guard[1] if guard else None,
        tuple(recipients or ()),
        at,
    )
