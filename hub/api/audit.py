"""The audit trail, for admins and compliance officers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, as_error
from hub.domain.audit import AuditEvent, AuditQuery
from hub.errors import SalonError
from hub.services.policy import audit_trail


@strawberry.type(name="AuditEvent", description="One access or change, as recorded.")
class AuditEventType:
    seq: int = strawberry.field(description="Position in the hash chain.")
    occurred_at: datetime
    actor_id: str = strawberry.field(description="User id (a pseudonym), anonymous or system.")
    auth_method: str = strawberry.field(description="token, session, password, link or system.")
    auth_id: str | None = strawberry.field(description="Token, session or share link id.")
    address: str | None = strawberry.field(description="Client IP address.")
    action: str = strawberry.field(description="e.g. runs.search, run.create, token.revoke.")
    object_kind: str
    object_id: str | None
    project_id: str | None
    outcome: str = strawberry.field(description="allow, deny or error.")
    row_count: int | None = strawberry.field(description="Rows read or written.")
    hash: str
    actor_name: str | None = strawberry.field(
        description="The person's sign-in name today (null: system, anonymous or erased)."
    )
    project_name: str | None = strawberry.field(
        description="The project's name today (null when it is gone)."
    )
    object_name: str | None = strawberry.field(
        description="The object's name or title today, for runs, datasets, models, model "
        "versions, projects and people (the trail itself keeps ids only)."
    )

    @classmethod
    def of(cls, e: AuditEvent, names: dict[str, str]) -> AuditEventType:
        return cls(
            seq=e.seq,
            occurred_at=e.at,
            actor_id=e.actor_id,
            auth_method=e.auth_method,
            auth_id=e.auth_id,
            address=e.address,
            action=e.action,
            object_kind=e.object_kind,
            object_id=e.object_id,
            project_id=e.project_id,
            outcome=e.outcome,
            row_count=e.row_count,
            hash=e.hash,
            actor_name=names.get(e.actor_id),
            project_name=names.get(e.project_id or ""),
            object_name=names.get(e.object_id or ""),
        )


@strawberry.type(name="AuditProject", description="A project, as the audit trail names it.")
class AuditProjectType:
    id: strawberry.ID
    name: str


@strawberry.input(name="AuditFilter", description="Narrow the audit trail; every field optional.")
class AuditFilterInput:
    actor_id: str | None = None
    project_id: str | None = None
    object_kind: str | None = None
    object_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> AuditQuery:
        return AuditQuery(
            self.actor_id,
            self.project_id,
            self.object_kind,
            self.object_id,
            self.action,
            self.outcome,
            self.since,
            self.until,
        )


@strawberry.type(name="AuditPage", description="Events, newest first.")
class AuditPageType:
    events: list[AuditEventType]
    next_before: int | None = strawberry.field(description="Pass as `before` for older events.")


@strawberry.type(name="AuditVerification", description="The result of recomputing the chain.")
class AuditVerificationType:
    ok: bool
    checked: int = strawberry.field(description="Events recomputed.")
    head_seq: int
    head_hash: str
    problem: str | None = strawberry.field(description="The first break found, in words.")
    broken_seq: int | None
    checkpoint_found: bool = strawberry.field(
        description="Whether a signed checkpoint was there to detect a truncated tail."
    )


AuditPageResult = Annotated[AuditPageType | Errors, strawberry.union("AuditPageResult")]
AuditVerificationResult = Annotated[
    AuditVerificationType | Errors,
    strawberry.union("AuditVerificationResult"),
]


@strawberry.type
class AuditQueries:
    @strawberry.field(description="Who accessed or changed what, newest first (audited too).")
    async def audit_events(
        self,
        info: Info,
        filter: AuditFilterInput | None = None,
        first: int = 100,
        before: int | None = None,
    ) -> AuditPageResult:
        ctx = info.context
        query = (filter or AuditFilterInput()).query()
        try:
            found = await audit_trail.search_events(ctx.store, ctx.principal, query, first, before)
        except SalonError as exc:
            return as_error(exc)
        events = found.events
        return AuditPageType(
            events=[AuditEventType.of(e, found.names) for e in events],
            next_before=events[-1].seq if len(events) == first else None,
        )

    @strawberry.field(
        description="Every project, to narrow the trail by (admins and compliance officers, "
        "who may hold no role in any); empty for others."
    )
    async def audit_projects(self, info: Info) -> list[AuditProjectType]:
        ctx = info.context
        try:
            found = await audit_trail.audited_projects(ctx.store, ctx.principal)
        except SalonError:
            return []
        return [AuditProjectType(id=strawberry.ID(p.id), name=p.name) for p in found]

    @strawberry.field(description="Recompute the hash chain and compare with the checkpoint.")
    async def audit_verification(self, info: Info) -> AuditVerificationResult:
        ctx = info.context
        try:
            report, checkpoint = await audit_trail.verify_chain(
                ctx.store, ctx.principal, ctx.keys.keep, ctx.keys.verify_bytes
            )
        except SalonError as exc:
            return as_error(exc)
        return AuditVerificationType(
            ok=report.ok,
            checked=report.checked,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
            problem=report.problem,
            broken_seq=report.broken_seq,
            checkpoint_found=checkpoint,
        )
