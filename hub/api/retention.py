"""Retention policies in GraphQL: read a project's (with what it removes next), set it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.lifecycle import Due, RetentionPolicy
from hub.services.lifecycle import retention


@strawberry.type(name="Removal", description="Something a policy will move to the trash next.")
class RemovalType:
    id: strawberry.ID
    label: str


@strawberry.type(
    name="RetentionPolicy",
    description="What a project keeps: finished runs for runsDays days unless tagged keepTag, "
    "the newest versionsKept versions of each dataset, its audit events for auditYears years "
    "(null: no limit). Once an hour the hub moves runs and versions no longer kept to the "
    "trash and empties older audit events (the chain still verifies); nothing a legal hold "
    "covers.",
)
class RetentionPolicyType:
    runs_days: int | None
    keep_tag: str
    versions_kept: int | None
    audit_years: int | None
    updated_by: str
    updated_at: datetime
    last_applied: datetime | None
    next_runs: list[RemovalType] = strawberry.field(description="Runs it removes next.")
    next_versions: list[RemovalType] = strawberry.field(
        description="Dataset versions it removes next."
    )
    next_audit_events: int = strawberry.field(
        description="How many audit events it empties next: those from before auditBefore."
    )
    audit_before: datetime | None

    @classmethod
    def of(cls, policy: RetentionPolicy, due: Due) -> RetentionPolicyType:
        return cls(
            runs_days=policy.runs_days,
            keep_tag=policy.keep_tag,
            versions_kept=policy.versions_kept,
            audit_years=policy.audit_years,
            updated_by=policy.updated_by,
            updated_at=policy.updated_at,
            last_applied=policy.last_applied,
            next_runs=[RemovalType(id=strawberry.ID(i), label=label) for i, label in due.runs],
            next_versions=[
                RemovalType(id=strawberry.ID(i), label=label) for i, label in due.versions
            ],
            next_audit_events=due.audit_events,
            audit_before=due.audit_before,
        )


RetentionResult = Annotated[RetentionPolicyType | Errors, strawberry.union("RetentionResult")]


@strawberry.type
class RetentionQueries:
    @strawberry.field(
        description="The project's retention policy with what it removes next; null: the "
        "project keeps everything."
    )
    async def retention_policy(self, info: Info, project: str) -> RetentionPolicyType | None:
        ctx = info.context
        found, due = await retention.policy_of(ctx.store, ctx.principal, project)
        return None if found is None else RetentionPolicyType.of(found, due)


@strawberry.type
class RetentionMutations:
    @strawberry.mutation(
        description="Set the project's retention policy (maintainers); leave every limit out "
        "to keep everything."
    )
    async def set_retention_policy(
        self,
        info: Info,
        project: str,
        runs_days: int | None = None,
        versions_kept: int | None = None,
        keep_tag: str = "keep",
        audit_years: int | None = None,
    ) -> RetentionResult:
        ctx = info.context

        async def work() -> RetentionPolicyType:
            await retention.set_policy(
                ctx.store, ctx.principal, project, runs_days, versions_kept, keep_tag, audit_years
            )
            found, due = await retention.policy_of(ctx.store, ctx.principal, project)
            assert found is not None
            return RetentionPolicyType.of(found, due)

        return await result_of(work(), lambda made: made)
