"""Project and experiment types, and the queries that list them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info
from hub.domain.tracking import ExperimentRecord, ProjectRecord
from hub.errors import NotFound
from hub.services.policy import access
from hub.services.tracking import metrics, projects, runs

if TYPE_CHECKING:
    from hub.api.people import MemberType
    from hub.api.runs import KeyValueType, RunType


@strawberry.type(name="Experiment", description="A named group of runs inside a project.")
class ExperimentType:
    id: strawberry.ID
    name: str = strawberry.field(description="Unique within its project.")
    description: str = strawberry.field(description="What the experiment tries to find out.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    created_by: str = strawberry.field(description="Who created it.")
    project_id: strawberry.Private[str]
    record: strawberry.Private[ExperimentRecord]

    @classmethod
    def of(cls, record: ExperimentRecord) -> ExperimentType:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            description=record.description,
            created_at=record.created_at,
            created_by=record.created_by,
            project_id=record.project_id,
            record=record,
        )

    @strawberry.field(description="Its tags, by key (MLflow's experiment tags).")
    async def tags(
        self, info: Info
    ) -> list[Annotated[KeyValueType, strawberry.lazy("hub.api.runs")]]:
        from hub.api.runs import KeyValueType

        found = await info.context.loaders.experiment_tags.load(self.record)
        return [KeyValueType(key=key, value=value) for key, value in found]


@strawberry.type(name="Project", description="A team's home for experiments and their runs.")
class ProjectType:
    id: strawberry.ID
    name: str = strawberry.field(description="Unique project name.")
    description: str = strawberry.field(description="What the project is about.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    created_by: str = strawberry.field(description="Who created it.")
    record: strawberry.Private[ProjectRecord]

    @classmethod
    def of(cls, record: ProjectRecord) -> ProjectType:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            description=record.description,
            created_at=record.created_at,
            created_by=record.created_by,
            record=record,
        )

    @strawberry.field(description="Experiments of this project, by name.")
    async def experiments(self, info: Info) -> list[ExperimentType]:
        ctx = info.context
        records = await projects.experiments(ctx.store, ctx.principal, self.record)
        return [ExperimentType.of(record) for record in records]

    @strawberry.field(description="Number of runs in the project.")
    async def run_count(self, info: Info) -> int:
        return await info.context.loaders.run_counts.load(str(self.id))

    @strawberry.field(description="The most recently started runs, newest first.")
    async def recent_runs(
        self, info: Info, limit: int = 10
    ) -> list[Annotated[RunType, strawberry.lazy("hub.api.runs")]]:
        from hub.api.runs import load_runs

        ctx = info.context
        page = await runs.search_runs(
            ctx.store,
            ctx.principal,
            self.name,
            None,
            None,
            limit,
            None,
            ctx.settings.max_page_size,
        )
        return await load_runs(info, page.runs)

    @strawberry.field(description="Names of every metric logged in this project.")
    async def metric_keys(self, info: Info) -> list[str]:
        return await metrics.metric_keys(info.context.store, info.context.principal, str(self.id))

    @strawberry.field(description="Who holds which role on this project.")
    async def members(
        self, info: Info
    ) -> list[Annotated[MemberType, strawberry.lazy("hub.api.people")]]:
        from hub.api.people import MemberType

        ctx = info.context
        found = await access.members(ctx.store, ctx.principal, self.record)
        return [MemberType.of(member) for member in found]

    @strawberry.field(description="Names of every param logged in this project.")
    async def param_keys(self, info: Info) -> list[str]:
        ctx = info.context
        return await runs.param_keys(ctx.store, ctx.principal, str(self.id))


@strawberry.type(name="ProjectsOutOfReach")
class OutOfReachType:
    count: int = strawberry.field(description="Projects on this hub you have no role in.")
    site_admins: list[str] = strawberry.field(description="Who can give you a role.")


@strawberry.type
class ProjectQueries:
    @strawberry.field(description="Every project you can see, by name.")
    async def projects(self, info: Info) -> list[ProjectType]:
        records = await projects.list_projects(info.context.store, info.context.principal)
        return [ProjectType.of(record) for record in records]

    @strawberry.field(
        description="What to do when a project you need is not in your list: how many projects "
        "you have no role in (never their names), and the site admins who can grant one."
    )
    async def projects_out_of_reach(self, info: Info) -> OutOfReachType:
        found = await projects.out_of_reach(info.context.store, info.context.principal)
        return OutOfReachType(count=found.hidden_projects, site_admins=found.site_admins)

    @strawberry.field(description="One project by name, or null if there is none you can see.")
    async def project(self, info: Info, name: str) -> ProjectType | None:
        try:
            record = await projects.get_project(info.context.store, info.context.principal, name)
        except NotFound:
            return None
        return ProjectType.of(record)
