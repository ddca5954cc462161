"""Granting and taking away roles on projects, and restricting objects to groups."""

from __future__ import annotations

import dataclasses

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.identity import MembershipRecord
from hub.domain.tracking import ProjectRecord
from hub.errors import InvalidInput, NotFound
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import ADMIN, MANAGE, RANK, READ
from hub.services.policy.principal import ROLES, Principal
from hub.store import Store

SUBJECT_KINDS = ("user", "group")


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    """A membership with the name of who holds it."""

    membership: MembershipRecord
    name: str


async def _subject_id(store: Store, kind: str, name: str) -> str:
    if kind == "user":
        user = await store.users.by_name(name)
        if user is None:
            raise NotFound(f"No user called {name!r}.", field="subject")
        return user.id
    if kind == "group":
        group = await store.users.group_by_name(name)
        if group is None:
            raise NotFound(f"No group called {name!r}.", field="subject")
        return group.id
    raise InvalidInput(f"Grant roles to a user or a group, not {kind!r}.", field="kind")


async def _managed_project(
    store: Store, principal: Principal, project_name: str, action: str
) -> ProjectRecord:
    project = await store.projects.by_name(project_name)
    if project is None:
        await audit.deny(store, principal, action, "project")
        raise NotFound(f"No project named {project_name!r}.", field="project")
    await permissions.require(
        store,
        principal,
        project.id,
        MANAGE,
        action=action,
        object_kind="project",
        object_id=project.id,
        what=f"project named {project_name!r}",
    )
    return project


async def grant_role(
    store: Store,
    principal: Principal,
    project_name: str,
    kind: str,
    name: str,
    role: str,
    pii: bool = False,
) -> MembershipRecord:
    """Give a person or group a role on a project. Maintainers may grant up to maintainer;
    only project admins may make admins or grant the PII right."""
    if role not in ROLES:
        raise InvalidInput(f"Role {role!r} is not one of {', '.join(ROLES)}.", field="role")
    project = await _managed_project(store, principal, project_name, "membership.grant")
    access = await permissions.access_to(store, principal, project.id)
    assert access is not None
    if (role == ADMIN or pii) and not access.allows(ADMIN):
        await audit.deny(store, principal, "membership.grant", "project", project.id, project.id)
        raise InvalidInput(
            "Only project admins may make admins or grant access to PII.", field="role"
        )
    subject_id = await _subject_id(store, kind, name)
    record = MembershipRecord(project.id, kind, subject_id, role, pii, principal.user_id, now())
    said = f"gave {kind} {name} the {role} role on {project.name}" + (" with PII" if pii else "")
    events: list[EventDraft] = [
        audit.event(principal, "membership.grant", kind, subject_id, project.id, rows=1),
        feed.entry(
            principal,
            "membership.grant",
            kind,
            subject_id,
            project.id,
            said,
            recipients=[(subject_id, "assign")] if kind == "user" else [],
        ),
    ]
    return await store.access.grant(record, audit=events)


async def revoke_role(
    store: Store, principal: Principal, project_name: str, kind: str, name: str
) -> bool:
    project = await _managed_project(store, principal, project_name, "membership.revoke")
    subject_id = await _subject_id(store, kind, name)
    current = [
        m
        for m in await store.access.of_project(project.id)
        if m.subject_kind == kind and m.subject_id == subject_id
    ]
    access = await permissions.access_to(store, principal, project.id)
    if current and current[0].role == ADMIN and not (access and access.allows(ADMIN)):
        raise InvalidInput("Only project admins may remove an admin.", field="subject")
    events: list[EventDraft] = [
        audit.event(principal, "membership.revoke", kind, subject_id, project.id, rows=1),
        feed.entry(
            principal,
            "membership.revoke",
            kind,
            subject_id,
            project.id,
            f"removed {kind} {name} from {project.name}",
        ),
    ]
    return await store.access.revoke(project.id, kind, subject_id, audit=events)


async def members(store: Store, principal: Principal, project: ProjectRecord) -> list[Member]:
    """Who holds which role on a project (visible to anyone who can read it)."""
    await permissions.require(
        store,
        principal,
        project.id,
        READ,
        action="members.list",
        object_kind="project",
        object_id=project.id,
    )
    found = await store.access.of_project(project.id)
    users = await store.users.by_ids([m.subject_id for m in found if m.subject_kind == "user"])
    groups = {g.id: g.name for g in await store.users.groups()}
    result = [
        Member(
            m,
            users[m.subject_id].name
            if m.subject_kind == "user" and m.subject_id in users
            else groups.get(m.subject_id, "?"),
        )
        for m in found
    ]
    await audit.read(
        store, principal, "members.list", "project", project.id, project.id, len(result)
    )
    return sorted(result, key=lambda m: (-RANK[m.membership.role], m.name))


async def restrict(
    store: Store,
    principal: Principal,
    project: ProjectRecord,
    object_kind: str,
    object_id: str,
    group_names: list[str],
) -> None:
    """Limit an object of the project to members of these groups (and the project's admins);
    an empty list lifts the restriction. Maintainers and above decide."""
    await permissions.require(
        store,
        principal,
        project.id,
        MANAGE,
        action="object.restrict",
        object_kind=object_kind,
        object_id=object_id,
    )
    group_ids = []
    for name in dict.fromkeys(group_names):
        group = await store.users.group_by_name(name)
        if group is None:
            raise NotFound(f"No group called {name!r}.", field="groups")
        group_ids.append(group.id)
    said = (
        f"limited a {object_kind} to {', '.join(dict.fromkeys(group_names))}"
        if group_ids
        else f"lifted the limit on a {object_kind}"
    )
    events: list[EventDraft] = [
        audit.event(
            principal, "object.restrict", object_kind, object_id, project.id, rows=len(group_ids)
        ),
        feed.entry(
            principal,
            "object.restrict",
            object_kind,
            object_id,
            project.id,
            said,
            guard=(object_kind, object_id),
        ),
    ]
    await store.access.restrict(project.id, object_kind, object_id, group_ids, audit=events)


async def visible_objects(
    store: Store,
    principal: Principal,
    project_id: str,
    object_kind: str,
    object_ids: list[str],
    held: permissions.Access | None = None,
) -> set[str]:
    """Those of the project's objects the principal may see: all of them for readers of the
    project, except restricted ones outside their groups. Every list, count, search and
    lineage path over restrictable objects filters through here. ``held``: the principal's
    access to the project when the caller has it already (looked up otherwise)."""
    if held is None:
        held = await permissions.access_to(store, principal, project_id)
    if held is None:
        return set()
    limits = await store.access.restrictions(object_kind, object_ids)
    return {
        object_id
        for object_id in object_ids
        if object_id not in limits
        or permissions.can_see_restricted(principal, held, limits[object_id])
    }
