"""Lineage in GraphQL: the data a run saw or made, and the runs that used a dataset version."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.services.tracking import lineage
from hub.services.tracking.lineage import UsedVersion

if TYPE_CHECKING:
    from hub.api.runs import RunType


@strawberry.type(name="DatasetUse", description="A dataset version a run read or produced.")
class DatasetUseType:
    direction: str = strawberry.field(description="input (the run read it) or output.")
    recorded_at: datetime
    project: str
    dataset: str
    version: int
    version_id: strawberry.ID

    @classmethod
    def of(cls, item: UsedVersion) -> DatasetUseType:
        return cls(
            direction=item.use.direction,
            recorded_at=item.use.recorded_at,
            project=item.project.name,
            dataset=item.dataset.name,
            version=item.version.number,
            version_id=strawberry.ID(item.version.id),
        )


@strawberry.type(name="RunUse", description="A run that read or produced a dataset version.")
class RunUseType:
    direction: str
    recorded_at: datetime
    run: Annotated[RunType, strawberry.lazy("hub.api.runs")]


UseResult = Annotated[
    DatasetUseType | Errors,
    strawberry.union("UseDatasetResult"),
]


@strawberry.type
class LineageMutations:
    @strawberry.mutation(
        description="Record that a run read (input) or produced (output) a dataset version; "
        "the latest when no version is given."
    )
    async def use_dataset(
        self,
        info: Info,
        run_id: strawberry.ID,
        project: str,
        dataset: str,
        version: int | None = None,
        direction: str = "input",
    ) -> UseResult:
        ctx = info.context
        work = lineage.use_dataset(
            ctx.store, ctx.principal, run_id, project, dataset, version, direction
        )
        return await result_of(work, DatasetUseType.of)
