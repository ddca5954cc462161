"""Run types, run search and the mutations that start, annotate and finish runs."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import strawberry

from hub.api.context import Info, selected
from hub.api.errors import Errors, as_error
from hub.api.lineage import DatasetUseType
from hub.api.metrics import MetricSeriesType, MetricSummaryType
from hub.api.projects import ExperimentType, ProjectType
from hub.domain.tracking import KeyValue, RunEnvironment, RunRecord
from hub.errors import NotFound, SalonError
from hub.services.tracking import artifacts, runs


@strawberry.enum(name="RunStatus", description="Where a run is in its life.")
class RunStatus(enum.Enum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"


@strawberry.type(name="KeyValue", description="A param or tag: a name and a text value.")
class KeyValueType:
    key: str
    value: str

    @classmethod
    def of(cls, record: KeyValue) -> KeyValueType:
        return cls(key=record.key, value=record.value)


@strawberry.type(name="RunEnvironment", description="What reproducing a run needs.")
class RunEnvironmentType:
    git_commit: str | None = strawberry.field(description="Commit checked out when it started.")
    git_dirty: bool | None = strawberry.field(description="True if there were uncommitted edits.")
    command: str | None = strawberry.field(description="The command line that started it.")
    python_version: str | None = strawberry.field(description="Python version.")
    host: str | None = strawberry.field(description="Machine it ran on.")
    packages: list[str] = strawberry.field(description="Installed packages as name==version.")

    @classmethod
    def of(cls, env: RunEnvironment) -> RunEnvironmentType:
        return cls(
            git_commit=env.git_commit,
            git_dirty=env.git_dirty,
            command=env.command,
            python_version=env.python_version,
            host=env.host,
            packages=list(env.packages),
        )


DETAIL_FIELDS = frozenset({"project", "experiment", "params", "tags", "metrics"})


@strawberry.type(name="Artifact", description="A file logged with a run (MLflow's log_artifact).")
class ArtifactType:
    path: str = strawberry.field(description="Where it is among the run's files, e.g. plots/a.png.")
    size: float = strawberry.field(description="Bytes.")
    uploaded_by: str = strawberry.field(description="Who logged it.")
    uploaded_at: datetime = strawberry.field(description="When (UTC).")
    download_path: str = strawberry.field(
        description="Where the hub serves it (with your token): the MLflow artifact proxy path."
    )


@strawberry.type(name="Run", description="One training or evaluation run.")
class RunType:
    id: strawberry.ID
    name: str = strawberry.field(description="Human-readable name.")
    status: RunStatus = strawberry.field(description="running, finished, failed or killed.")
    user: str = strawberry.field(description="Who ran it.")
    notes: str = strawberry.field(description="Free-text notes (Markdown).")
    started_at: datetime = strawberry.field(description="Start time (UTC).")
    ended_at: datetime | None = strawberry.field(description="End time (UTC), if it ended.")
    duration_seconds: float | None = strawberry.field(
        description="Seconds from start to end; null while the run is going."
    )
    record: strawberry.Private[RunRecord]
    details: strawberry.Private[runs.RunDetails | None]

    @strawberry.field(description="Reproducibility record.")
    def environment(self) -> RunEnvironmentType:
        return RunEnvironmentType.of(self.record.environment)  # only when asked: lists rarely

    def _details(self) -> runs.RunDetails:
        assert self.details is not None, "load_runs fetches details when they are selected"
        return self.details

    @strawberry.field(description="The project the run belongs to.")
    def project(self) -> ProjectType:
        return ProjectType.of(self._details().projects[self.record.project_id])

    @strawberry.field(description="The experiment the run belongs to.")
    def experiment(self) -> ExperimentType:
        return ExperimentType.of(self._details().experiments[self.record.experiment_id])

    @strawberry.field(description="Hyperparameters and configuration, by name.")
    def params(self) -> list[KeyValueType]:
        return [KeyValueType.of(kv) for kv in self._details().params.get(self.record.id, [])]

    @strawberry.field(description="Labels such as team or purpose, by name.")
    def tags(self) -> list[KeyValueType]:
        return [KeyValueType.of(kv) for kv in self._details().tags.get(self.record.id, [])]

    @strawberry.field(description="Latest value of every metric, by name.")
    def metrics(self) -> list[MetricSummaryType]:
        found = self._details().metrics.get(self.record.id, [])
        return [MetricSummaryType.of(summary) for summary in found]

    @strawberry.field(description="The dataset versions this run read or produced (lineage).")
    async def datasets(self, info: Info) -> list[DatasetUseType]:
        found = await info.context.loaders.run_data.load(self.record)
        return [DatasetUseType.of(item) for item in found]

    @strawberry.field(description="Files logged with the run, by path.")
    async def artifacts(self, info: Info) -> list[ArtifactType]:
        run = self.record
        found = await artifacts.every_file(
            info.context.store, info.context.principal, "run", run.id
        )
        where = f"/api/2.0/mlflow-artifacts/artifacts/{run.experiment_id}/{run.id}/artifacts/"
        return [
            ArtifactType(
                path=a.path,
                size=a.size,
                uploaded_by=a.created_by,
                uploaded_at=a.created_at,
                download_path=where + quote(a.path),
            )
            for a in found
        ]

    @strawberry.field(description="Curves of this run, downsampled to at most `buckets` points.")
    async def series(
        self,
        info: Info,
        keys: list[str],
        buckets: int = 1000,
        step_min: float | None = None,
        step_max: float | None = None,
    ) -> list[MetricSeriesType]:
        found = await info.context.loaders.series.load(
            (
                self.record.id,
                tuple(dict.fromkeys(keys)),
                buckets,
                None if step_min is None else int(step_min),
                None if step_max is None else int(step_max),
            )
        )
        return [MetricSeriesType.of(record) for record in found]


async def load_runs(info: Info, records: list[RunRecord]) -> list[RunType]:
    """Runs ready to resolve. When the query asks for params, tags, metrics, project or
    experiment, they are read for the whole list at once: five queries per page, side by side,
    never one per run."""
    details = None
    if records and selected(info, DETAIL_FIELDS):
        ctx = info.context
        details = await runs.details(ctx.store, ctx.principal, records)
    result = []
    for record in records:
        ended = record.ended_at
        result.append(
            RunType(
                id=strawberry.ID(record.id),
                name=record.name,
                status=RunStatus(record.status),
                user=record.user_name,
                notes=record.notes,
                started_at=record.started_at,
                ended_at=ended,
                duration_seconds=None
                if ended is None
                else (ended - record.started_at).total_seconds(),
                record=record,
                details=details,
            )
        )
    return result


async def load_run(info: Info, record: RunRecord) -> RunType:
    return (await load_runs(info, [record]))[0]


@strawberry.type(name="PageInfo", description="Where this page sits in the whole list.")
class PageInfoType:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(name="RunConnection", description="A page of runs matching a search.")
class RunConnectionType:
    nodes: list[RunType]
    total_count: int = strawberry.field(description="Runs matching, over all pages.")
    page_info: PageInfoType


RunsResult = Annotated[
    RunConnectionType | Errors,
    strawberry.union("RunsResult"),
]
RunResult = Annotated[
    RunType | Errors,
    strawberry.union("RunResult"),
]


@strawberry.input(name="KeyValueInput", description="A param or tag to set.")
class KeyValueInput:
    key: str
    value: str


@strawberry.input(name="RunEnvironmentInput", description="What reproducing a run needs.")
class RunEnvironmentInput:
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    python_version: str | None = None
    host: str | None = None
    packages: list[str] = strawberry.field(default_factory=list)


@strawberry.input(name="CreateRunInput", description="A run to start.")
class CreateRunInput:
    project: str = strawberry.field(description="Project name; created if it does not exist.")
    experiment: str = strawberry.field(description="Experiment name; created if missing.")
    name: str | None = strawberry.field(default=None, description="Run name; generated if empty.")
    params: list[KeyValueInput] = strawberry.field(default_factory=list)
    tags: list[KeyValueInput] = strawberry.field(default_factory=list)
    notes: str = ""
    user: str | None = strawberry.field(
        default=None,
        deprecation_reason="Ignored: a run is always recorded as the caller's.",
    )
    environment: RunEnvironmentInput | None = None


def _pairs(items: list[KeyValueInput]) -> dict[str, str]:
    return {item.key: item.value for item in items}


def _new_run(data: CreateRunInput) -> runs.NewRun:
    env = data.environment or RunEnvironmentInput()
    return runs.NewRun(
        project=data.project,
        experiment=data.experiment,
        name=data.name,
        params=_pairs(data.params),
        tags=_pairs(data.tags),
        notes=data.notes,
        environment=RunEnvironment.of(env),
    )


@strawberry.type
class RunQueries:
    @strawberry.field(description="One run by id, or null if there is none you can see.")
    async def run(self, info: Info, id: strawberry.ID) -> RunType | None:
        try:
            record = await runs.get_run(info.context.store, info.context.principal, id)
        except NotFound:
            return None
        return await load_run(info, record)

    @strawberry.field(
        description=(
            'Search runs with the filter language, e.g. "metrics.val_acc > 0.8 and '
            "params.lr = '0.01' and tags.team = 'vision'\". Sort with orderBy entries like "
            "'metrics.val_acc desc'. Newest first by default."
        )
    )
    async def runs(
        self,
        info: Info,
        project: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> RunsResult:
        ctx = info.context
        try:
            page = await runs.search_runs(
                ctx.store,
                ctx.principal,
                project,
                filter,
                order_by,
                first,
                after,
                ctx.settings.max_page_size,
                count=bool(selected(info, frozenset({"totalCount"}))),
            )
        except SalonError as exc:
            return as_error(exc)
        return RunConnectionType(
            nodes=await load_runs(info, page.runs),
            total_count=page.total or 0,  # counted whenever the query asks for it
            page_info=PageInfoType(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )


async def _run_result(info: Info, action: Awaitable[RunRecord]) -> RunResult:
    try:
        record = await action
    except SalonError as exc:
        return as_error(exc)
    return await load_run(info, record)


@strawberry.type
class RunMutations:
    @strawberry.mutation(description="Start a run (status running).")
    async def create_run(self, info: Info, input: CreateRunInput) -> RunResult:
        ctx = info.context
        return await _run_result(info, runs.create_run(ctx.store, ctx.principal, _new_run(input)))

    @strawberry.mutation(description="End a run as finished, failed or killed.")
    async def finish_run(self, info: Info, id: strawberry.ID, status: RunStatus) -> RunResult:
        ctx = info.context
        return await _run_result(info, runs.finish_run(ctx.store, ctx.principal, id, status.value))

    @strawberry.mutation(description="Add params; a param's value cannot change once set.")
    async def log_params(
        self, info: Info, run_id: strawberry.ID, params: list[KeyValueInput]
    ) -> RunResult:
        ctx = info.context
        return await _run_result(
            info, runs.log_params(ctx.store, ctx.principal, run_id, _pairs(params))
        )

    @strawberry.mutation(description="Set or overwrite tags.")
    async def set_tags(
        self, info: Info, run_id: strawberry.ID, tags: list[KeyValueInput]
    ) -> RunResult:
        ctx = info.context
        return await _run_result(
            info, runs.set_tags(ctx.store, ctx.principal, run_id, _pairs(tags))
        )

    @strawberry.mutation(
        description="Give the run another name (editors); names need not be unique."
    )
    async def rename_run(self, info: Info, run_id: strawberry.ID, name: str) -> RunResult:
        ctx = info.context
        return await _run_result(info, runs.rename_run(ctx.store, ctx.principal, run_id, name))

    @strawberry.mutation(description="Replace the run's notes (Markdown).")
    async def set_run_notes(self, info: Info, run_id: strawberry.ID, notes: str) -> RunResult:
        ctx = info.context
        return await _run_result(info, runs.set_notes(ctx.store, ctx.principal, run_id, notes))
