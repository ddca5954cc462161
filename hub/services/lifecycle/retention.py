"""Retention policies (a project's maintainers set them; everyone in the project sees them
with what they will remove next). The hub applies them once an hour: runs and dataset versions
that are due go to the trash, as if Salon had moved it there, and are purged after
``SALON_TRASH_DAYS``; audit events past their years are emptied at once, keeping the chain
verifiable (see ``hub/store/audit.py``). Nothing a legal hold covers is due."""

from __future__ import annotations

import logging
from datetime import datetime

from hub.clock import now
from hub.domain.audit import PRUNE, EventDraft
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
MAX_YEARS = 100
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
    audit_years: int | None = None,
) -> RetentionPolicy:
    """Replace the project's policy (maintainers); every limit None: keep everything."""
    if runs_days is not None and not 1 <= runs_days <= MAX_DAYS:
        raise InvalidInput(
            f"Keep runs for 1 to {MAX_DAYS} days, or without limit.", field="runsDays"
        )
    if versions_kept is not None and versions_kept < 1:
        raise InvalidInput(
            "Keep at least the newest version of each dataset.", field="versionsKept"
        )
    if audit_years is not None and not 1 <= audit_years <= MAX_YEARS:
        raise InvalidInput(
            f"Keep audit events for 1 to {MAX_YEARS} years, or without limit.",
            field="auditYears",
        )
    keep_tag = check_name(keep_tag, "tag")
    project_id = await _project(store, principal, project, MANAGE, "retention.set")
    policy = RetentionPolicy(
        project_id,
        runs_days,
        keep_tag,
        versions_kept,
        principal.user_name,
        now(),
        audit_years=audit_years,
    )
    events: list[EventDraft] = [
        audit.event(principal, "retention.set", "project", project_id, project_id)
    ]
    return await audit.change(store, events, store.retention.set(policy, audit=events))


async def _prune_audit(store: Store, project_id: str, before: datetime) -> int:
    def recorded(emptied: int) -> list[EventDraft]:
        return [audit.event(SYSTEM, PRUNE, "project", project_id, project_id, rows=emptied)]

    emptied = await store.audit.prune(project_id, before, recorded)
    log.info("Retention emptied %d audit events of project %s", emptied, project_id)
    return emptied


async def apply_all(store: Store) -> int:
    """Move what every project's policy says is due to the trash and empty the audit events
    it no longer keeps; how many objects and events. A project under a legal hold is left as
    it is."""
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
        if due.audit_events and due.audit_before is not None:
            moved += await _prune_audit(store, policy.project_id, due.audit_before)
        await store.retention.applied(policy.project_id, at)
    return moved
