"""Who may do what: every access rule of Salon, each written once.

A person's role on a project is the strongest of the roles held directly and through their
groups; site admins are admins everywhere. An API token can only narrow that: to some projects,
or to reading. Someone with no role on a project gets :class:`NotFound`, exactly what they would
get if it did not exist; a member whose role is too weak gets :class:`Forbidden`, which says what
is missing. Denials are written to the audit trail.

Objects inside a project can be restricted to named groups: then only members of those groups
and the project's admins see them, and everyone else is told they do not exist. Columns tagged
PII are shown only to members holding the PII grant.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from hub.errors import Forbidden, NotFound
from hub.services.policy import audit
from hub.services.policy.principal import ROLES, Principal
from hub.store import Store

RANK = {role: rank for rank, role in enumerate(ROLES)}

READ = "viewer"
COMMENT = "commenter"
WRITE = "editor"
MANAGE = "maintainer"
ADMIN = "admin"


@dataclasses.dataclass(frozen=True, slots=True)
class Access:
    """What a principal holds on one project."""

    role: str
    pii: bool

    def allows(self, needed: str) -> bool:
        return RANK[self.role] >= RANK[needed]


def _narrow(principal: Principal, project_id: str, access: Access | None) -> Access | None:
    """Apply a token's scope to what its owner holds."""
    if access is None:
        return None
    if principal.scope_projects is not None and project_id not in principal.scope_projects:
        return None
    if not principal.scope_write and RANK[access.role] > RANK[READ]:
        return Access(READ, access.pii)
    return access


async def project_access(store: Store, principal: Principal) -> dict[str, Access]:
    """The principal's access per project id, for every project they hold a role on.

    Site admins hold admin on every project; this map then lists only explicit memberships,
    so callers must use :func:`access_to` for a single project."""
    held: dict[str, Access] = {}
    for m in await store.access.for_subjects(principal.user_id, sorted(principal.group_ids)):
        current = held.get(m.project_id)
        role = m.role if current is None or RANK[m.role] > RANK[current.role] else current.role
        held[m.project_id] = Access(role, m.pii or (current.pii if current else False))
    return {
        project_id: narrowed
        for project_id, access in held.items()
        if (narrowed := _narrow(principal, project_id, access)) is not None
    }


async def roles_held(store: Store, principal: Principal) -> dict[str, Access]:
    """The principal's access per project id as every check sees it: a site admin's admin on
    every project, anyone else's memberships (both narrowed by the token's scope)."""
    if not principal.is_admin:
        return await project_access(store, principal)
    return {
        project.id: access
        for project in await store.projects.all()
        if (access := _narrow(principal, project.id, Access(ADMIN, True))) is not None
    }


async def access_to(store: Store, principal: Principal, project_id: str) -> Access | None:
    """The principal's access to one project, or None when they may not see it."""
    if principal.is_admin:
        return _narrow(principal, project_id, Access(ADMIN, True))
    return (await project_access(store, principal)).get(project_id)


async def readable_projects(
    store: Store, principal: Principal, project_ids: Iterable[str]
) -> set[str]:
    """Those of ``project_ids`` the principal may read."""
    ids = set(project_ids)
    if principal.is_admin:
        return {p for p in ids if _narrow(principal, p, Access(ADMIN, True)) is not None}
    return ids & set(await project_access(store, principal))


def can_create_project(principal: Principal) -> bool:
    """Anyone signed in may start a project (and becomes its admin), unless acting through a
    token narrowed to some projects or to reading."""
    return principal.scope_projects is None and principal.scope_write


async def require(
    store: Store,
    principal: Principal,
    project_id: str,
    needed: str,
    *,
    action: str,
    object_kind: str,
    object_id: str | None = None,
    what: str = "project",
) -> Access:
    """The principal's access to the project when it includes ``needed``; otherwise the
    denial is audited and NotFound (no role at all) or Forbidden (too weak a role) raised."""
    access = await access_to(store, principal, project_id)
    return await demand(
        store,
        principal,
        project_id,
        access,
        needed,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        what=what,
    )


async def demand(
    store: Store,
    principal: Principal,
    project_id: str,
    access: Access | None,
    needed: str,
    *,
    action: str,
    object_kind: str,
    object_id: str | None = None,
    what: str = "project",
) -> Access:
    """:func:`require` for a caller that has already looked up ``access`` (saves the query
    when one request checks several things on the same project)."""
    if access is not None and access.allows(needed):
        return access
    await audit.deny(store, principal, action, object_kind, object_id, project_id)
    if access is None or not access.allows(READ):
        raise not_found(what)
    if not principal.scope_write and RANK[needed] > RANK[READ]:
        raise Forbidden(f"This API token is read-only; {action} needs a token that may write.")
    raise Forbidden(
        f"Your role on this project is {access.role}; {action} needs {needed} or above. "
        "A project maintainer can change your role."
    )


def not_found(what: str, field: str | None = None) -> NotFound:
    """The one answer for "does not exist" and "you may not see it"."""
    return NotFound(
        f"No {what} found. Check the name, or ask a project admin for access.", field=field
    )


def can_see_restricted(principal: Principal, access: Access | None, groups: set[str]) -> bool:
    """Whether an object restricted to ``groups`` is visible: to the project's admins and to
    members of one of the groups who can read the project."""
    if access is None:
        return False
    return access.allows(ADMIN) or bool(groups & principal.group_ids)


def can_see_pii(access: Access | None) -> bool:
    return access is not None and access.pii


def can_manage_people(principal: Principal) -> bool:
    """Adding people and groups, disabling accounts: site admins only, and never through a
    narrowed token."""
    return principal.is_admin and principal.scope_projects is None and principal.scope_write


def can_read_audit(principal: Principal) -> bool:
    """Admins and compliance officers, not through a token narrowed to projects."""
    return (principal.is_admin or principal.is_compliance) and principal.scope_projects is None
