"""Legal holds in GraphQL (admins and compliance officers): list, place, release."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.lifecycle import LegalHold
from hub.services.lifecycle import holds


@strawberry.enum(name="HoldKind", description="What a legal hold covers.")
class HoldKind(Enum):
    PROJECT = "project"
    DATASET = "dataset"
    PERSON = "person"


@strawberry.type(
    name="LegalHold",
    description="While not released, nothing it covers is purged or erased: not from the "
    "trash, not by retention, not by a person's erasure.",
)
class LegalHoldType:
    id: strawberry.ID
    kind: HoldKind
    object_id: strawberry.ID
    label: str = strawberry.field(description="The project, dataset (project/name) or person.")
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None

    @classmethod
    def of(cls, hold: LegalHold) -> LegalHoldType:
        return cls(
            id=strawberry.ID(hold.id),
            kind=HoldKind(hold.kind),
            object_id=strawberry.ID(hold.object_id),
            label=hold.label,
            reason=hold.reason,
            placed_by=hold.placed_by,
            placed_at=hold.placed_at,
            released_by=hold.released_by,
            released_at=hold.released_at,
        )


LegalHoldResult = Annotated[LegalHoldType | Errors, strawberry.union("LegalHoldResult")]


@strawberry.type
class HoldQueries:
    @strawberry.field(
        description="Legal holds in force, newest first; with released, past ones too "
        "(admins and compliance officers)."
    )
    async def legal_holds(self, info: Info, released: bool = False) -> list[LegalHoldType]:
        ctx = info.context
        return [LegalHoldType.of(h) for h in await holds.listed(ctx.store, ctx.principal, released)]


@strawberry.type
class HoldMutations:
    @strawberry.mutation(
        description="Hold a project (name), a dataset (name, with project) or a person (their "
        "account name) for a reason: purging and erasing what it covers is refused until it "
        "is released (admins and compliance officers)."
    )
    async def place_legal_hold(
        self, info: Info, kind: HoldKind, name: str, reason: str, project: str | None = None
    ) -> LegalHoldResult:
        ctx = info.context
        work = holds.place(ctx.store, ctx.principal, kind.value, name, reason, project)
        return await result_of(work, LegalHoldType.of)

    @strawberry.mutation(description="Release a legal hold (admins and compliance officers).")
    async def release_legal_hold(self, info: Info, id: strawberry.ID) -> LegalHoldResult:
        ctx = info.context
        return await result_of(holds.release(ctx.store, ctx.principal, id), LegalHoldType.of)
