"""The GPU cluster in GraphQL: state now, history, usage by person, project or team, jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.clock import now
from hub.domain.cluster import ClusterJob
from hub.services.cluster import cluster


@strawberry.type(name="ClusterNode", description="A node as last sampled.")
class NodeType:
    node_id: str
    address: str
    alive: bool
    cpus: float
    cpus_used: float
    gpus: float
    gpus_used: float
    gpu_utilization: float | None = strawberry.field(
        description="Mean utilisation of the node's GPUs in %, when it reports them."
    )
    gpu_memory_used_mb: float | None
    gpu_memory_total_mb: float | None
    name: str = strawberry.field(
        description="Ray's name for the node: its host name when set, else its address."
    )
    is_head: bool | None = strawberry.field(
        description="Whether it is the head node (null: sampled before this was recorded)."
    )


@strawberry.type(name="Cluster", description="The GPU cluster as Salon last saw it.")
class ClusterType:
    configured: bool = strawberry.field(description="Whether the hub has a cluster to watch.")
    reachable: bool = strawberry.field(description="Whether the last look got an answer.")
    checked_at: datetime | None
    last_answer_at: datetime | None
    problem: str | None = strawberry.field(description="Why the last look failed, if it did.")
    nodes: list[NodeType]
    gpus: float
    gpus_used: float


@strawberry.type(name="ClusterPoint", description="GPUs in the cluster and in use, on average.")
class PointType:
    at: datetime
    gpus: float
    gpus_used: float


@strawberry.type(name="UsageRow", description="Resource-hours of one group in one period.")
class UsageType:
    period: datetime
    who: str = strawberry.field(description="A person's sign-in name, a project or a team.")
    gpu_hours: float
    cpu_hours: float
    jobs: int


@strawberry.type(name="ClusterJob", description="A job on the cluster.")
class JobType:
    id: strawberry.ID
    status: str
    entrypoint: str
    user: str
    project: str | None
    gpus: float
    cpus: float
    run_id: strawberry.ID | None
    started_at: datetime | None
    ended_at: datetime | None
    message: str

    @classmethod
    def of(cls, job: ClusterJob) -> JobType:
        return cls(
            id=strawberry.ID(job.submission_id),
            status=job.status,
            entrypoint=job.entrypoint,
            user=job.user_name,
            project=job.project,
            gpus=job.gpus,
            cpus=job.cpus,
            run_id=strawberry.ID(job.run_id) if job.run_id else None,
            started_at=job.started_at,
            ended_at=job.ended_at,
            message=job.message,
        )


@strawberry.type(name="GpuHolder", description="An actor or running task that holds GPUs now.")
class HolderType:
    kind: str = strawberry.field(description="actor or task")
    id: strawberry.ID
    name: str
    node_id: str
    gpus: float
    ray_job_id: str | None = strawberry.field(description="Ray's id of the driver it runs for.")
    pid: int | None
    started_at: datetime | None
    job: JobType | None = strawberry.field(
        description="The submitted job it runs for (through Salon or Ray's Jobs API); null "
        "when it runs outside any, as under a notebook's ray.init()."
    )

    @classmethod
    def of(cls, found: cluster.GpuHolder) -> HolderType:
        h = found.holder
        return cls(
            kind=h.kind,
            id=strawberry.ID(h.holder_id),
            name=h.name,
            node_id=h.node_id,
            gpus=h.gpus,
            ray_job_id=h.ray_job_id,
            pid=h.pid,
            started_at=h.started_at,
            job=JobType.of(found.job) if found.job else None,
        )


@strawberry.type(name="GpuHolders", description="Who holds the cluster's GPUs right now.")
class HoldersType:
    holders: list[HolderType]
    outside_jobs: float = strawberry.field(
        description="GPUs held by actors and tasks outside any submitted job."
    )


@strawberry.type(name="JobLogs", description="What a job printed.")
class LogsType:
    text: str


@strawberry.type(name="JobStopped", description="Whether Ray stopped the job.")
class StoppedType:
    stopped: bool


JobResult = Annotated[JobType | Errors, strawberry.union("SubmitJobResult")]
StopResult = Annotated[StoppedType | Errors, strawberry.union("StopJobResult")]
HoldersResult = Annotated[HoldersType | Errors, strawberry.union("GpuHoldersResult")]
LogsResult = Annotated[LogsType | Errors, strawberry.union("JobLogsResult")]


@strawberry.type
class ClusterQueries:
    @strawberry.field(description="The GPU cluster now: nodes, GPUs busy and free.")
    async def cluster(self, info: Info) -> ClusterType:
        ctx = info.context
        seen = await cluster.state(ctx.store, ctx.settings, ctx.principal)
        alive = [n for n in seen.nodes if n.alive]
        return ClusterType(
            configured=seen.configured,
            reachable=bool(seen.check and seen.check.ok),
            checked_at=seen.check.checked_at if seen.check else None,
            last_answer_at=seen.last_answer,
            problem=seen.check.error if seen.check and not seen.check.ok else None,
            nodes=[
                NodeType(
                    node_id=n.node_id,
                    address=n.address,
                    alive=n.alive,
                    cpus=n.cpus,
                    cpus_used=n.cpus_used,
                    gpus=n.gpus,
                    gpus_used=n.gpus_used,
                    gpu_utilization=n.gpu_utilization,
                    gpu_memory_used_mb=n.gpu_memory_used_mb,
                    gpu_memory_total_mb=n.gpu_memory_total_mb,
                    name=n.name or n.address,
                    is_head=n.is_head,
                )
                for n in seen.nodes
            ],
            gpus=sum(n.gpus for n in alive),
            gpus_used=sum(n.gpus_used for n in alive),
        )

    @strawberry.field(description="GPUs in the cluster and in use over time (default: a week).")
    async def cluster_history(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        buckets: int = 200,
    ) -> list[PointType]:
        ctx = info.context
        until = until or now()
        found = await cluster.history(
            ctx.store, ctx.principal, since or until - timedelta(days=7), until, buckets
        )
        return [PointType(at=at, gpus=g, gpus_used=u) for at, g, u in found]

    @strawberry.field(
        description="GPU- and CPU-hours per day, week or month, by person, project, team, run "
        "or model (what a run or a model cost; default: the last 30 days by person)."
    )
    async def cluster_usage(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        period: str = "day",
        by: str = "person",
    ) -> list[UsageType]:
        ctx = info.context
        until = until or now()
        rows = await cluster.usage(
            ctx.store, ctx.principal, since or until - timedelta(days=30), until, period, by
        )
        return [
            UsageType(
                period=r.period,
                who=r.who,
                gpu_hours=r.gpu_hours,
                cpu_hours=r.cpu_hours,
                jobs=r.jobs,
            )
            for r in rows
        ]

    @strawberry.field(
        description="Recent jobs on the cluster, newest first; of one run when runId is given."
    )
    async def cluster_jobs(
        self, info: Info, limit: int = 200, run_id: strawberry.ID | None = None
    ) -> list[JobType]:
        ctx = info.context
        found = await cluster.jobs(ctx.store, ctx.principal, limit, run_id)
        return [JobType.of(j) for j in found]

    @strawberry.field(
        description="The actors and running tasks holding GPUs now, asked of the cluster, each "
        "with the submitted job it runs for; those outside any job first."
    )
    async def gpu_holders(self, info: Info) -> HoldersResult:
        ctx = info.context

        def wrap(found: list[cluster.GpuHolder]) -> HoldersType:
            outside = sum(h.holder.gpus for h in found if h.job is None)
            return HoldersType(holders=[HolderType.of(h) for h in found], outside_jobs=outside)

        work = cluster.gpu_holders(ctx.store, ctx.settings, ctx.principal)
        return await result_of(work, wrap)

    @strawberry.field(description="What a job printed (readers of its project).")
    async def job_logs(self, info: Info, id: strawberry.ID) -> LogsResult:
        ctx = info.context
        work = cluster.logs(ctx.store, ctx.settings, ctx.principal, id)
        return await result_of(work, lambda t: LogsType(text=t))


@strawberry.type
class ClusterMutations:
    @strawberry.mutation(
        description="Run a command on the cluster for a project (editors and up), asking for "
        "GPUs and CPUs; your name and the project are attached for accounting."
    )
    async def submit_job(
        self,
        info: Info,
        project: str,
        entrypoint: str,
        gpus: float = 0,
        cpus: float = 1,
        run_id: strawberry.ID | None = None,
    ) -> JobResult:
        ctx = info.context
        work = cluster.submit(
            ctx.store, ctx.settings, ctx.principal, project, entrypoint, gpus, cpus, run_id
        )
        return await result_of(work, JobType.of)

    @strawberry.mutation(description="Stop a job: whoever submitted it, a maintainer, an admin.")
    async def stop_job(self, info: Info, id: strawberry.ID) -> StopResult:
        ctx = info.context
        work = cluster.stop(ctx.store, ctx.settings, ctx.principal, id)
        return await result_of(work, lambda s: StoppedType(stopped=s))
