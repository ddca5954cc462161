"""Erasing a data subject's rows from every version of a dataset, in GraphQL."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.lifecycle import DatasetErasure
from hub.services.lifecycle import erasure


@strawberry.type(name="ErasedRows", description="Rows removed from one version.")
class ErasedRowsType:
    version: int
    rows: int


@strawberry.enum(name="ErasureState", description="Where an erasure request is.")
class ErasureState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@strawberry.type(
    name="DatasetErasure",
    description="A request to remove a data subject's rows from every version of a dataset, "
    "carried out by the hub in the background: who asked, when, with which filter, its state "
    "and, once done, how many rows left each version (never the values).",
)
class DatasetErasureType:
    id: strawberry.ID
    filter: str
    requested_by: str
    requested_at: datetime
    state: ErasureState
    problem: str | None = strawberry.field(description="Why it failed.")
    finished_at: datetime | None = strawberry.field(description="When it was done or failed.")
    versions: list[ErasedRowsType] = strawberry.field(
        description="Rows removed from each version, once done."
    )
    total: int
    dataset: str
    project: str

    @classmethod
    def of(cls, record: DatasetErasure, dataset: str, project: str) -> DatasetErasureType:
        return cls(
            id=strawberry.ID(record.id),
            filter=record.filter,
            requested_by=record.requested_by,
            requested_at=record.requested_at,
            state=ErasureState(record.state),
            problem=record.problem,
            finished_at=record.finished_at,
            versions=[ErasedRowsType(version=n, rows=count) for n, count in record.rows],
            total=record.total,
            dataset=dataset,
            project=project,
        )


DatasetErasureResult = Annotated[
    DatasetErasureType | Errors, strawberry.union("DatasetErasureResult")
]


@strawberry.type
class ErasureQueries:
    @strawberry.field(
        description="Erasure requests of every dataset, newest first, in every state (admins "
        "and compliance officers)."
    )
    async def erasure_requests(self, info: Info, limit: int = 200) -> list[DatasetErasureType]:
        ctx = info.context
        found = await erasure.every_request(ctx.store, ctx.principal, limit)
        return [DatasetErasureType.of(r.erasure, r.dataset, r.project) for r in found]


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description="Ask to erase the rows a filter matches (e.g. customer_id = 'C-1042') from "
        "every version of a dataset, trashed ones included (maintainers). Answers at once with "
        "the queued request; the hub then writes each affected version's data again without "
        "them and profiles it again, keeping its number and lineage, and deletes the old data "
        "(follow it in Dataset.erasures). Refused under a legal hold, for data registered in "
        "place, and when the filter matches nothing."
    )
    async def erase_dataset_rows(
        self, info: Info, project: str, dataset: str, filter: str
    ) -> DatasetErasureResult:
        ctx = info.context
        work = erasure.erase_rows(ctx.store, ctx.settings, ctx.principal, project, dataset, filter)
        return await result_of(
            work, lambda made: DatasetErasureType.of(made, dataset.strip(), project.strip())
        )
