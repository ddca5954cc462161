"""People, groups, memberships, API tokens and the hub's own sign-in sessions."""

from __future__ import annotations

import dataclasses
from datetime import datetime


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
class ClientRecord:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    secret_hash: str | None  # None: a public client (PKCE only)


@dataclasses.dataclass(frozen=True, slots=True)
class CodeRecord:
    code_hash: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    user_id: str
    client_id: str
    scope: str
    auth_time: datetime
    expires_at: datetime
    revoked_at: datetime | None
