"""People, groups, roles and API tokens: the caller's own account and its administration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.identity import GroupRecord, TokenRecord, UserRecord
from hub.services.identity import accounts, tokens
from hub.services.policy import access, permissions
from hub.services.policy.access import Member

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(name="User", description="A person with an account in Salon.")
class UserType:
    id: strawberry.ID = strawberry.field(
        description="Stable pseudonymous id (used in the audit trail)."
    )
    name: str = strawberry.field(description="Sign-in name, e.g. ana.silva; used in @mentions.")
    display_name: str
    email: str | None = strawberry.field(description="Shown to the person and to site admins only.")
    is_admin: bool = strawberry.field(description="Site admin: every project and setting.")
    is_compliance: bool = strawberry.field(description="May read the audit trail.")
    disabled: bool
    created_at: datetime

    @classmethod
    def of(cls, record: UserRecord, show_email: bool) -> UserType:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            display_name=record.display_name,
            email=record.email if show_email else None,
            is_admin=record.is_admin,
            is_compliance=record.is_compliance,
            disabled=record.disabled_at is not None,
            created_at=record.created_at,
        )


@strawberry.type(name="Group", description="People who share roles (e.g. a team).")
class GroupType:
    id: strawberry.ID
    name: str = strawberry.field(description="Also matched against an outside provider's groups.")
    description: str

    @classmethod
    def of(cls, record: GroupRecord) -> GroupType:
        return cls(id=strawberry.ID(record.id), name=record.name, description=record.description)


@strawberry.type(name="Member", description="A person or group holding a role on a project.")
class MemberType:
    kind: str = strawberry.field(description="user or group.")
    name: str
    role: str = strawberry.field(description="viewer, commenter, editor, maintainer or admin.")
    pii: bool = strawberry.field(description="May see columns tagged as personal data.")
    granted_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberType:
        m = member.membership
        return cls(
            kind=m.subject_kind, name=member.name, role=m.role, pii=m.pii, granted_at=m.granted_at
        )


@strawberry.type(
    name="ApiToken", description="A personal API token (its secret is never shown again)."
)
class ApiTokenType:
    id: strawberry.ID
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    can_write: bool = strawberry.field(description="False: the token may only read.")
    project_ids: list[strawberry.ID] | None = strawberry.field(
        description="Projects it is limited to; null for every project its owner can reach."
    )

    @classmethod
    def of(cls, record: TokenRecord) -> ApiTokenType:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            can_write=record.scope_write,
            project_ids=None
            if record.scope_projects is None
            else [strawberry.ID(p) for p in record.scope_projects],
        )


@strawberry.type(name="NewApiToken", description="A token just made, with its secret (shown once).")
class NewApiTokenType:
    token: ApiTokenType
    secret: str = strawberry.field(
        description="Send as 'Authorization: Bearer <secret>'. Store it now."
    )


@strawberry.type(name="ProjectRole", description="Your role on one project.")
class ProjectRoleType:
    project_id: strawberry.ID
    role: str
    pii: bool


@strawberry.type(name="Me", description="Who you are signed in as, and what you may do.")
class MeType:
    user: UserType
    auth_method: str = strawberry.field(description="token or session.")
    can_write: bool = strawberry.field(description="False when acting through a read-only token.")
    roles: list[ProjectRoleType] = strawberry.field(
        description="Your role on each project you hold one on (a site admin: admin on every "
        "project), as your token narrows it."
    )
    can_read_audit: bool
    can_manage_people: bool


NewTokenResult = Annotated[NewApiTokenType | Errors, strawberry.union("NewTokenResult")]
TokenResult = Annotated[ApiTokenType | Errors, strawberry.union("TokenResult")]
UserResult = Annotated[
    UserType | Errors,
    strawberry.union("UserResult"),
]
GroupResult = Annotated[
    GroupType | Errors,
    strawberry.union("GroupResult"),
]
MemberResult = Annotated[
    MemberType | Errors,
    strawberry.union("MemberResult"),
]


@strawberry.type(name="Done", description="The change was made.")
class DoneType:
    ok: bool


DoneResult = Annotated[
    DoneType | Errors,
    strawberry.union("DoneResult"),
]


@strawberry.type
class PeopleQueries:
    @strawberry.field(description="Your account, how you are signed in, and your roles.")
    async def me(self, info: Info) -> MeType:
        ctx = info.context
        principal = ctx.principal
        user, held = await accounts.own_account(ctx.store, principal)
        return MeType(
            user=UserType.of(user, show_email=True),
            auth_method=principal.auth_method,
            can_write=principal.scope_write,
            roles=[
                ProjectRoleType(project_id=strawberry.ID(p), role=a.role, pii=a.pii)
                for p, a in sorted(held.items())
            ],
            can_read_audit=permissions.can_read_audit(principal),
            can_manage_people=permissions.can_manage_people(principal),
        )

    @strawberry.field(description="Everyone with an account (for @mentions and sharing).")
    async def users(self, info: Info) -> list[UserType]:
        ctx = info.context
        show = permissions.can_manage_people(ctx.principal)
        return [UserType.of(u, show) for u in await accounts.list_users(ctx.store, ctx.principal)]

    @strawberry.field(description="Every group.")
    async def groups(self, info: Info) -> list[GroupType]:
        ctx = info.context
        return [GroupType.of(g) for g in await accounts.list_groups(ctx.store, ctx.principal)]

    @strawberry.field(description="Your API tokens, newest first (revoked ones included).")
    async def api_tokens(self, info: Info) -> list[ApiTokenType]:
        ctx = info.context
        return [ApiTokenType.of(t) for t in await tokens.list_tokens(ctx.store, ctx.principal)]


@strawberry.type
class PeopleMutations:
    @strawberry.mutation(description="Make a personal API token; its secret is shown once.")
    async def create_api_token(
        self,
        info: Info,
        name: str,
        projects: list[str] | None = None,
        can_write: bool = True,
        expires_in_days: int = tokens.DEFAULT_DAYS,
    ) -> NewTokenResult:
        ctx = info.context
        work = tokens.create_token(
            ctx.store,
            ctx.principal,
            name,
            projects=projects,
            write=can_write,
            expires_in_days=expires_in_days,
        )
        return await result_of(
            work, lambda made: NewApiTokenType(token=ApiTokenType.of(made[0]), secret=made[1])
        )

    @strawberry.mutation(description="Revoke one of your tokens; it stops working at once.")
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> TokenResult:
        ctx = info.context
        work = tokens.revoke_token(ctx.store, ctx.principal, id, ctx.auth.cache)
        return await result_of(work, ApiTokenType.of)

    @strawberry.mutation(description="Add an account (site admins).")
    async def create_user(
        self,
        info: Info,
        name: str,
        password: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_compliance: bool = False,
    ) -> UserResult:
        ctx = info.context
        work = accounts.create_user(
            ctx.store,
            ctx.principal,
            name,
            password,
            display_name=display_name,
            email=email,
            is_admin=is_admin,
            is_compliance=is_compliance,
        )
        return await result_of(work, _user)

    @strawberry.mutation(description="Disable or re-enable an account (site admins).")
    async def set_user_disabled(self, info: Info, name: str, disabled: bool) -> UserResult:
        ctx = info.context
        work = accounts.set_disabled(ctx.store, ctx.principal, name, disabled)
        return await result_of(work, forgetting(info, _user))

    @strawberry.mutation(description="Set a password: your own, or anyone's as a site admin.")
    async def set_password(self, info: Info, name: str, password: str) -> UserResult:
        ctx = info.context
        work = accounts.set_password(ctx.store, ctx.principal, name, password)
        return await result_of(work, _user)

    @strawberry.mutation(description="Make a group (site admins).")
    async def create_group(self, info: Info, name: str, description: str = "") -> GroupResult:
        ctx = info.context
        work = accounts.create_group(ctx.store, ctx.principal, name, description)
        return await result_of(work, GroupType.of)

    @strawberry.mutation(description="Add a person to a group (site admins).")
    async def add_group_member(self, info: Info, group: str, user: str) -> GroupResult:
        ctx = info.context
        work = accounts.add_member(ctx.store, ctx.principal, group, user)
        return await result_of(work, forgetting(info, GroupType.of))

    @strawberry.mutation(description="Take a person out of a group (site admins).")
    async def remove_group_member(self, info: Info, group: str, user: str) -> GroupResult:
        ctx = info.context
        work = accounts.remove_member(ctx.store, ctx.principal, group, user)
        return await result_of(work, forgetting(info, GroupType.of))

    @strawberry.mutation(
        description="Give a person or group a role on a project (maintainers; admins for admin "
        "and PII)."
    )
    async def grant_role(
        self, info: Info, project: str, kind: str, name: str, role: str, pii: bool = False
    ) -> MemberResult:
        ctx = info.context
        work = access.grant_role(ctx.store, ctx.principal, project, kind, name, role, pii)
        return await result_of(work, lambda record: MemberType.of(Member(record, name)))

    @strawberry.mutation(description="Take a person's or group's role on a project away.")
    async def revoke_role(self, info: Info, project: str, kind: str, name: str) -> DoneResult:
        ctx = info.context
        work = access.revoke_role(ctx.store, ctx.principal, project, kind, name)
        return await result_of(work, lambda removed: DoneType(ok=removed))


def _user(record: UserRecord) -> UserType:
    return UserType.of(record, show_email=True)


def forgetting(info: Info, wrap: Callable[[T], R]) -> Callable[[T], R]:
    """``wrap``, after dropping cached principals: a change to who is in which group, or who
    is disabled, takes effect on the next request."""

    def forget_then_wrap(value: T) -> R:
        info.context.auth.cache.clear()
        return wrap(value)

    return forget_then_wrap
