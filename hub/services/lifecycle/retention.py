"""Retention policies (a project's maintainers set them; everyone in the project sees them
with what they will remove next). The hub applies them once an hour: what is due goes to the
trash, as if Salon had moved it there, and is purged after ``SALON_TRASH_DAYS``; nothing a
legal hold covers is due."""

from __future__ import annotations

import logging

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import Due, RetentionPolicy, TrashEntry
from hub.errors import InvalidInput
from hub.ids import new_id
from hub.services.policy import audit, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.permissions import MANAGE, READ
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import projects
from hub.store import Store

__all__ = ["Due", "RetentionPolicy", "apply_all", "policy_of", "set_policy"]
log = logging.getLogger("salon.retention")
MAX_DAYS = 36_500
RETENTION = "salon (retention)"  # who the trash says moved what a policy removed


async def _project(store: Store, principal: Principal, name: str, needed: str, action: str) -> str:
    project = await projects.visible_project(store, principal, name)
    await permissions.require(
        store,
        principal,
        project.id,
        needed,
        action=action,
        object_kind="project",
        object_id=project.id,
    )
    return project.id


async def policy_of(
    store: Store, principal: Principal, project: str
) -> tuple[RetentionPolicy | None, Due]:
    """The project's policy (None: keep everything) and what it would move to the trash now."""
    project_id = await _project(store, principal, project, READ, "retention.read")
    found = await store.retention.of(project_id)
    due = await store.retention.due(found, now()) if found else Due((), ())
    await audit.read(store, principal, "retention.read", "project", project_id, project_id, 1)
    return found, due


async def set_policy(
    store: Store,
    principal: Principal,
    project: str,
    runs_days: int | None,
    versions_kept: int | None,
    keep_tag: str = "keep",
) -> RetentionPolicy:
    """Replace the project's policy (maintainers); both limits None: keep everything."""
    if runs_days is not None and not 1 <= runs_days <= MAX_DAYS:
        raise InvalidInput(
            f"Keep runs for 1 to {MAX_DAYS} days, or without limit.", field="runsDays"
        )
    if versions_kept is not None and versions_kept < 1:
        raise InvalidInput(
            "Keep at least the newest version of each dataset.", field="versionsKept"
        )
    keep_tag = check_name(keep_tag, "tag")
    project_id = await _project(store, principal, project, MANAGE, "retention.set")
    policy = RetentionPolicy(
        project_id, runs_days, keep_tag, versions_kept, principal.user_name, now()
    )
    events: list[EventDraft] = [
        audit.event(principal, "retention.set", "project", project_id, project_id)
    ]
    return await audit.change(store, events, store.retention.set(policy, audit=events))


async def apply_all(store: Store) -> int:
    """Move what every project's policy says is due to the trash; how many objects. A project
    under a legal hold is left as it is."""
    moved = 0
    for policy in await store.retention.every():
        if await store.holds.active_on("project", policy.project_id) is not None:
            log.info("Retention of project %s waits: a legal hold covers it", policy.project_id)
            continue
        at = now()
        due = await store.retention.due(policy, at)
        entries = [
            TrashEntry(new_id(), kind, object_id, policy.project_id, label, RETENTION, at)
            for kind, found in (("run", due.runs), ("dataset_version", due.versions))
            for object_id, label in found
        ]
        if entries:
            events: list[EventDraft] = [
                audit.event(
                    SYSTEM,
                    "retention.apply",
                    "project",
                    policy.project_id,
                    policy.project_id,
                    rows=len(entries),
                )
            ]
            moved += len(await store.trash.put_many(entries, audit=events))
        await store.retention.applied(policy.project_id, at)
    return moved
