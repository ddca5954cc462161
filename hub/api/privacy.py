"""A person's rights in GraphQL (admins and compliance officers): what an export holds, and
erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.api.people import forgetting
from hub.services.lifecycle import privacy


@strawberry.type(name="SectionCount", description="How many rows of one kind.")
class SectionCountType:
    section: str
    count: int


@strawberry.type(
    name="PersonalDataExport",
    description="Everything Salon holds about a person: how much of each kind, and where to "
    "download the archive (a ZIP of JSON files) with the same token.",
)
class PersonalDataExportType:
    person: str
    counts: list[SectionCountType]
    download_path: str = strawberry.field(description="GET it on the hub: the archive.")


@strawberry.type(
    name="Erasure",
    description="A person erased: their account is a pseudonym, their name replaced wherever "
    "it was stored, what only concerned them deleted, their audit addresses unreadable.",
)
class ErasureType:
    pseudonym: str
    erased_at: datetime
    changes: list[SectionCountType] = strawberry.field(description="Rows changed, by table.")


ExportResult = Annotated[
    PersonalDataExportType | Errors, strawberry.union("PersonalDataExportResult")
]
ErasureResult = Annotated[ErasureType | Errors, strawberry.union("ErasureResult")]


def _counts(counts: dict[str, int]) -> list[SectionCountType]:
    return [SectionCountType(section=name, count=count) for name, count in sorted(counts.items())]


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(
        description="What Salon holds about a person (their account, memberships, tokens, "
        "comments, runs, notifications, audit events naming them...): the counts, and the "
        "archive's download path (admins and compliance officers). Audited."
    )
    async def export_personal_data(self, info: Info, name: str) -> ExportResult:
        ctx = info.context
        return await result_of(
            privacy.export(ctx.store, ctx.principal, name),
            lambda found: PersonalDataExportType(
                person=found.person,
                counts=_counts(found.counts),
                download_path=f"/api/v1/people/{quote(found.person)}/export",
            ),
        )

    @strawberry.mutation(
        description="Erase a person (admins and compliance officers): see Erasure. Refused "
        "while a legal hold covers them, for the last site admin, and for yourself."
    )
    async def erase_person(self, info: Info, name: str) -> ErasureResult:
        ctx = info.context
        work = privacy.erase(ctx.store, ctx.principal, name)
        return await result_of(  # their tokens stop at once, not in a few seconds
            work,
            forgetting(
                info,
                lambda done: ErasureType(
                    pseudonym=done[0], erased_at=done[2], changes=_counts(done[1])
                ),
            ),
        )
