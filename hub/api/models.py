"""The model registry in GraphQL: models, versions, aliases, the promotion policy, checks,
reviews and the gate."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info, selected
from hub.api.errors import Errors, result_of
from hub.api.reviews import QueueType, queue_types
from hub.api.runs import KeyValueInput, KeyValueType
from hub.domain.registry import CheckSpec, ModelCheck, ModelRecord, ModelVersionRecord, Policy
from hub.services.collaboration.markdown import render
from hub.services.registry import model_checks, model_views, models, promotion, registration
from hub.services.registry.model_views import EXPENSIVE

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.type(name="ModelInput", description="An input a model version expects.")
class InputType:
    name: str
    type: str


@strawberry.type(name="ModelCheck", description="A check a version must pass before promotion.")
class CheckType:
    id: strawberry.ID
    kind: str = strawberry.field(description="metric, no_worse, schema or job.")
    title: str
    status: str = strawberry.field(description="queued, running, passed or failed.")
    detail: str = strawberry.field(description="Why it passed or failed, in words.")
    job_id: strawberry.ID | None = strawberry.field(description="The Ray job of a job check.")
    log: str = strawberry.field(description="The end of a job check's log.")
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def of(cls, check: ModelCheck) -> CheckType:
        spec = check.spec
        return cls(
            id=strawberry.ID(check.id),
            kind=check.kind,
            title=spec.title,
            status=check.status,
            detail=check.detail,
            job_id=strawberry.ID(check.job_id) if check.job_id else None,
            log=check.log,
            started_at=check.started_at,
            ended_at=check.ended_at,
        )


@strawberry.type(name="ModelReview", description="A reviewer's verdict on a version.")
class ReviewType:
    id: strawberry.ID
    reviewer: str
    verdict: str = strawberry.field(description="approve or request_changes.")
    body: str = strawberry.field(description="Markdown.")
    html: str
    at: datetime


@strawberry.type(name="ModelGate", description="Whether a version may take a protected alias.")
class GateType:
    open: bool
    reasons: list[str] = strawberry.field(description="What is still missing, in words.")
    approvals: int
    needed: int = strawberry.field(description="Approvals the version's policy asks for.")
    approved_by: list[str]
    changes_requested_by: list[str]


@strawberry.type(name="ModelCheckSpec", description="A check a policy asks for.")
class CheckSpecType:
    kind: str
    title: str
    metric: str | None
    op: str
    value: float | None
    than: str
    by: float
    higher_is_better: bool
    entrypoint: str | None
    gpus: float
    dataset_version: strawberry.ID | None


@strawberry.type(name="ModelPolicy", description="What must hold before a protected alias moves.")
class PolicyType:
    protected: list[str] = strawberry.field(description="The aliases the policy guards.")
    checks: list[CheckSpecType]
    approvals: int
    approver_group: str | None = strawberry.field(
        description="When set, only its members' approvals count."
    )
    auto_move: str | None = strawberry.field(
        description="The alias moved by itself to a version once it satisfies the policy."
    )

    @classmethod
    def of(cls, policy: Policy) -> PolicyType:
        return cls(
            protected=list(policy.protected),
            approvals=policy.approvals,
            approver_group=policy.approver_group,
            auto_move=policy.auto_move,
            checks=[
                CheckSpecType(
                    kind=c.kind,
                    title=c.title,
                    metric=c.metric,
                    op=c.op,
                    value=c.value,
                    than=c.than,
                    by=c.by,
                    higher_is_better=c.higher_is_better,
                    entrypoint=c.entrypoint,
                    gpus=c.gpus,
                    dataset_version=strawberry.ID(c.dataset_version) if c.dataset_version else None,
                )
                for c in policy.checks
            ],
        )


@strawberry.type(
    name="ModelVersion",
    description="A version of a model, from a run (or, through MLflow, from outside Salon).",
)
class VersionType:
    id: strawberry.ID
    model: str
    project: str
    number: int
    run_id: strawberry.ID | None = strawberry.field(
        description="The run it came from; null when it was registered from outside Salon."
    )
    run_reference: str | None = strawberry.field(
        description="The run id given when it was registered from outside Salon, as given "
        "(another system's); never a Salon run."
    )
    source: str = strawberry.field(description="Where the weights are: a path or a URI.")
    description: str
    tags: list[KeyValueType]
    input_schema: list[InputType] | None
    aliases: list[str]
    created_by: str
    created_at: datetime
    policy: PolicyType = strawberry.field(description="The policy it was registered under.")
    checks: list[CheckType]
    reviews: list[ReviewType] = strawberry.field(description="Approvals and change requests.")
    review_queues: list[QueueType] = strawberry.field(
        description="Reviews of its predictions, newest first, with their tallies."
    )
    gate: GateType


@strawberry.type(name="ModelAlias", description="Where an alias points.")
class AliasType:
    alias: str
    version: int
    moved_by: str
    moved_at: datetime


@strawberry.type(name="AliasMove", description="One move of an alias.")
class MoveType:
    alias: str
    version: int | None = strawberry.field(description="Null: the alias was removed.")
    previous: int | None
    moved_by: str
    moved_at: datetime
    automatic: bool = strawberry.field(description="Moved by the policy, not by a person.")


@strawberry.type(name="Model", description="A model in the registry.")
class ModelType:
    id: strawberry.ID
    project: str
    name: str
    description: str
    created_at: datetime
    aliases: list[AliasType]
    policy: PolicyType = strawberry.field(description="The policy new versions are held to.")
    versions: list[VersionType] = strawberry.field(description="Newest first.")
    moves: list[MoveType] = strawberry.field(
        description="Who moved which alias when, newest first."
    )


UNASKED = GateType(
    open=False, reasons=[], approvals=0, needed=0, approved_by=[], changes_requested_by=[]
)


async def version_types(
    store: Store,
    model: ModelRecord,
    project: str,
    found: list[ModelVersionRecord],
    wanted: frozenset[str] = EXPENSIVE,
) -> list[VersionType]:
    """Versions ready to resolve; only the costly fields in ``wanted`` are worked out."""
    views = await model_views.versions(store, model, found, wanted)
    return await types_of(store, model, project, views, wanted)


async def types_of(
    store: Store,
    model: ModelRecord,
    project: str,
    views: list[model_views.VersionView],
    wanted: frozenset[str],
) -> list[VersionType]:
    queues = await queue_types(store, [q for view in views for q in view.queues])
    return [version_type(view, model, project, wanted, queues) for view in views]


def version_type(
    view: model_views.VersionView,
    model: ModelRecord,
    project: str,
    wanted: frozenset[str],
    queues: list[QueueType],
) -> VersionType:
    v, gate = view.version, view.gate
    return VersionType(
        id=strawberry.ID(v.id),
        model=model.name,
        project=project,
        number=v.number,
        run_id=strawberry.ID(v.run_id) if v.run_id else None,
        run_reference=v.run_reference,
        source=v.source,
        description=v.description,
        tags=[KeyValueType(key=k, value=val) for k, val in v.tags.items()],
        input_schema=None
        if v.inputs is None
        else [InputType(name=c.name, type=c.type) for c in v.inputs],
        aliases=list(view.aliases),
        created_by=view.name(v.created_by),
        created_at=v.created_at,
        policy=PolicyType.of(v.policy if "policy" in wanted else Policy()),
        checks=[CheckType.of(c) for c in view.checks],
        reviews=[
            ReviewType(
                id=strawberry.ID(r.id),
                reviewer=view.name(r.user_id),
                verdict=r.verdict,
                body=r.body,
                html=render(r.body),
                at=r.at,
            )
            for r in view.reviews
        ],
        review_queues=[q for q in queues if q.version_id == v.id],
        gate=UNASKED
        if gate is None
        else GateType(
            open=gate.open,
            reasons=list(gate.reasons),
            approvals=gate.approvals,
            needed=gate.needed,
            approved_by=[view.name(u) for u in gate.approved_by],
            changes_requested_by=[view.name(u) for u in gate.blocked_by],
        ),
    )


async def model_type(
    store: Store, model: ModelRecord, project: str, wanted: frozenset[str] = EXPENSIVE
) -> ModelType:
    view = await model_views.model(store, model)
    numbers = view.numbers
    return ModelType(
        id=strawberry.ID(model.id),
        project=project,
        name=model.name,
        description=model.description,
        created_at=model.created_at,
        aliases=[
            AliasType(
                alias=a.alias,
                version=numbers[a.version_id],
                moved_by=view.name(a.moved_by),
                moved_at=a.moved_at,
            )
            for a in view.aliases
        ],
        policy=PolicyType.of(await models.policy(store, model)),
        versions=await version_types(store, model, project, view.versions, wanted),
        moves=[
            MoveType(
                alias=m.alias,
                version=numbers.get(m.version_id or ""),
                previous=numbers.get(m.previous_id or ""),
                moved_by=view.name(m.moved_by),
                moved_at=m.moved_at,
                automatic=m.automatic,
            )
            for m in view.moves
        ],
    )


@strawberry.input(description="A check a policy asks for: give the fields its kind needs.")
class CheckInput:
    kind: str = strawberry.field(description="metric, no_worse, schema, job or review.")
    name: str = ""
    metric: str | None = None
    op: str = strawberry.field(default=">=", description=">=, >, <= or < (metric checks).")
    value: float | None = strawberry.field(default=None, description="The threshold.")
    than: str = strawberry.field(
        default="production", description="The alias to compare with (no_worse, schema)."
    )
    by: float = strawberry.field(default=0.0, description="How much worse is allowed.")
    higher_is_better: bool = True
    entrypoint: str | None = strawberry.field(default=None, description="A job check's command.")
    gpus: float = 0.0
    dataset_version: strawberry.ID | None = strawberry.field(
        default=None, description="Given to a job check as SALON_DATASET_PATH."
    )
    samples: int = strawberry.field(
        default=20, description="A review check: the samples reviewers must have decided."
    )

    def spec(self) -> CheckSpec:
        return CheckSpec(
            self.kind,
            self.name,
            self.metric,
            self.op,
            self.value,
            self.than,
            self.by,
            self.higher_is_better,
            self.entrypoint,
            self.gpus,
            str(self.dataset_version) if self.dataset_version else None,
            self.samples,
        )


@strawberry.input(description="A promotion policy.")
class PolicyInput:
    protected: list[str] = strawberry.field(default_factory=lambda: ["production"])
    checks: list[CheckInput] = strawberry.field(default_factory=list)
    approvals: int = 0
    approver_group: str | None = None
    auto_move: str | None = None

    def policy(self) -> Policy:
        return Policy(
            tuple(self.protected),
            tuple(c.spec() for c in self.checks),
            self.approvals,
            self.approver_group,
            self.auto_move,
        )


@strawberry.input(description="An input the version expects.")
class InputInput:
    name: str
    type: str


ModelResult = Annotated[ModelType | Errors, strawberry.union("ModelResult")]
VersionResult = Annotated[VersionType | Errors, strawberry.union("ModelVersionResult")]
PolicyResult = Annotated[PolicyType | Errors, strawberry.union("ModelPolicyResult")]
MoveResult = Annotated[MoveType | Errors, strawberry.union("MoveModelAliasResult")]
ReviewResult = Annotated[ReviewType | Errors, strawberry.union("ReviewModelVersionResult")]


async def _version(store: Store, version_id: str, found: models.FoundModel) -> VersionType:
    version = await model_views.version(store, version_id)
    return (await version_types(store, found.model, found.project.name, [version]))[0]


@strawberry.type
class ModelQueries:
    @strawberry.field(description="A project's models, by name.")
    async def models(self, info: Info, project: str) -> list[ModelType]:
        ctx = info.context
        found = await models.of_project(ctx.store, ctx.principal, project)
        return [await model_type(ctx.store, m, project, selected(info, EXPENSIVE)) for m in found]

    @strawberry.field(description="One model with its versions, aliases and policy.")
    async def model(self, info: Info, project: str, name: str) -> ModelResult:
        ctx = info.context

        async def one() -> ModelType:
            found = await models.read(ctx.store, ctx.principal, project, name)
            return await model_type(
                ctx.store, found.model, found.project.name, selected(info, EXPENSIVE)
            )

        return await result_of(one(), lambda m: m)

    @strawberry.field(description="The model versions registered from a run.")
    async def run_model_versions(self, info: Info, run_id: strawberry.ID) -> list[VersionType]:
        ctx = info.context
        found = await models.of_run(ctx.store, ctx.principal, run_id)
        wanted = selected(info, EXPENSIVE)
        shown = []
        for owner, project, mine in await model_views.owners(ctx.store, found):
            shown += await version_types(ctx.store, owner, project, mine, wanted)
        return shown

    @strawberry.field(description="One model version with its checks, reviews and gate.")
    async def model_version(self, info: Info, id: strawberry.ID) -> VersionResult:
        ctx = info.context

        async def one() -> VersionType:
            version, found = await models.read_version(ctx.store, ctx.principal, id)
            return await _version(ctx.store, version.id, found)

        return await result_of(one(), lambda v: v)


@strawberry.type
class ModelMutations:
    @strawberry.mutation(
        description="An empty model, to set its policy before its first version (editors)."
    )
    async def create_model(
        self, info: Info, project: str, name: str, description: str = ""
    ) -> ModelResult:
        ctx = info.context

        async def made() -> ModelType:
            model = await registration.create_model(
                ctx.store, ctx.principal, project, name, description
            )
            return await model_type(ctx.store, model, project)

        return await result_of(made(), lambda m: m)

    @strawberry.mutation(description="Say what a model is for, in Markdown (editors).")
    async def describe_model(
        self, info: Info, project: str, model: str, description: str
    ) -> ModelResult:
        ctx = info.context

        async def described() -> ModelType:
            found = await registration.describe(
                ctx.store, ctx.principal, project, model, description
            )
            return await model_type(ctx.store, found, project)

        return await result_of(described(), lambda m: m)

    @strawberry.mutation(
        description="Register a run's model as the next version of a model (created when new; "
        "editors). The checks of the model's policy start at once."
    )
    async def register_model_version(
        self,
        info: Info,
        run_id: strawberry.ID,
        name: str,
        source: str,
        description: str = "",
        tags: list[KeyValueInput] | None = None,
        input_schema: list[InputInput] | None = None,
    ) -> VersionResult:
        ctx = info.context

        async def made() -> VersionType:
            model, version, checks = await registration.register(
                ctx.store,
                ctx.principal,
                run_id,
                name,
                source,
                description,
                {t.key: t.value for t in tags or []},
                None if input_schema is None else [(i.name, i.type) for i in input_schema],
            )
            project = await model_views.project_name(ctx.store, model)
            wanted = selected(info, EXPENSIVE)
            view = await model_views.just_registered(
                ctx.store, ctx.principal, model, version, checks, wanted
            )
            return (await types_of(ctx.store, model, project, [view], wanted))[0]

        return await result_of(made(), lambda v: v)

    @strawberry.mutation(
        description="Set a model's promotion policy (maintainers); versions "
        "registered from now on are held to it."
    )
    async def set_model_policy(
        self, info: Info, project: str, model: str, policy: PolicyInput
    ) -> PolicyResult:
        ctx = info.context
        work = registration.set_policy(ctx.store, ctx.principal, project, model, policy.policy())
        return await result_of(work, PolicyType.of)

    @strawberry.mutation(
        description="Point an alias at a version, or remove it (version: null). A protected "
        "alias needs a maintainer and the version's gate open; others need an editor."
    )
    async def move_model_alias(
        self, info: Info, project: str, model: str, alias: str, version: int | None
    ) -> MoveResult:
        ctx = info.context

        async def moved() -> MoveType:
            move = await promotion.move_alias(
                ctx.store, ctx.principal, project, model, alias, version
            )
            numbers = await model_views.numbers(
                ctx.store, [i for i in (move.version_id, move.previous_id) if i]
            )
            return MoveType(
                alias=move.alias,
                version=numbers.get(move.version_id or ""),
                previous=numbers.get(move.previous_id or ""),
                moved_by=ctx.principal.user_name,
                moved_at=move.moved_at,
                automatic=move.automatic,
            )

        return await result_of(moved(), lambda m: m)

    @strawberry.mutation(
        description="Approve a version or request changes, with a comment "
        "(commenters and up; not a version you registered)."
    )
    async def review_model_version(
        self, info: Info, id: strawberry.ID, verdict: str, body: str = ""
    ) -> ReviewResult:
        ctx = info.context
        work = promotion.review(ctx.store, ctx.principal, id, verdict, body)
        return await result_of(
            work,
            lambda r: ReviewType(
                id=strawberry.ID(r.id),
                reviewer=ctx.principal.user_name,
                verdict=r.verdict,
                body=r.body,
                html=render(r.body),
                at=r.at,
            ),
        )

    @strawberry.mutation(
        description="Run a version's checks again, under the policy it was "
        "registered with (editors)."
    )
    async def rerun_model_checks(self, info: Info, id: strawberry.ID) -> VersionResult:
        ctx = info.context

        async def again() -> VersionType:
            await model_checks.rerun(ctx.store, ctx.principal, id)
            version, found = await models.find_version(
                ctx.store, ctx.principal, id, "viewer", "model.read"
            )
            return await _version(ctx.store, version.id, found)

        return await result_of(again(), lambda v: v)
