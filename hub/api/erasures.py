"""Erasing a data subject's rows from every version of a dataset, in GraphQL."""

from __future__ import annotations

from datetime import datetime
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


@strawberry.type(
    name="DatasetErasure",
    description="A data subject's rows removed from every version of a dataset: who asked, "
    "when, with which filter and how many rows left each version (never the values).",
)
class DatasetErasureType:
    id: strawberry.ID
    filter: str
    requested_by: str
    requested_at: datetime
    finished_at: datetime
    versions: list[ErasedRowsType]
    total: int

    @classmethod
    def of(cls, record: DatasetErasure) -> DatasetErasureType:
        return cls(
            id=strawberry.ID(record.id),
            filter=record.filter,
            requested_by=record.requested_by,
            requested_at=record.requested_at,
            finished_at=record.finished_at,
            versions=[ErasedRowsType(version=n, rows=count) for n, count in record.rows],
            total=record.total,
        )


DatasetErasureResult = Annotated[
    DatasetErasureType | Errors, strawberry.union("DatasetErasureResult")
]


@strawberry.type
class ErasureMutations:
    @strawberry.mutation(
        description="Erase the rows a filter matches (e.g. customer_id = 'C-1042') from every "
        "version of a dataset, trashed ones included (maintainers): each affected version's "
        "data is written again without them and profiled again, keeping its number and "
        "lineage; the old data is deleted. Refused under a legal hold, for data registered in "
        "place, and when the filter matches nothing."
    )
    async def erase_dataset_rows(
        self, info: Info, project: str, dataset: str, filter: str
    ) -> DatasetErasureResult:
        ctx = info.context
        work = erasure.erase_rows(ctx.store, ctx.settings, ctx.principal, project, dataset, filter)
        return await result_of(work, DatasetErasureType.of)
