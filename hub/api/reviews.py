"""Review queues in GraphQL: start one over a version's predictions, judge samples, read the
tally, close it, publish the reviewed labels as a new dataset version."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.registry import Judgement, ReviewQueue
from hub.services.collaboration.markdown import render
from hub.services.policy import names
from hub.services.registry import reviews
from hub.services.registry.review_stats import Tally

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.type(name="ReviewTally", description="What the verdicts add up to.")
class TallyType:
    samples: int
    judged: int = strawberry.field(description="Samples with at least one verdict.")
    complete: int = strawberry.field(description="Samples with all the verdicts wanted.")
    judgements: int
    correct: int = strawberry.field(description="Samples the majority judged correct.")
    decided: int = strawberry.field(description="Samples with a majority either way.")
    accuracy: float | None = strawberry.field(description="Human-judged accuracy.")
    low: float = strawberry.field(description="Its 95 % confidence interval (Wilson).")
    high: float
    kappa: float | None = strawberry.field(description="Fleiss' kappa of the reviewers.")
    agreement: float | None = strawberry.field(
        description="Share of samples judged twice or more on which everyone agreed."
    )
    disagreements: list[int] = strawberry.field(description="Positions reviewers disagree on.")

    @classmethod
    def of(cls, t: Tally) -> TallyType:
        return cls(
            samples=t.samples,
            judged=t.judged,
            complete=t.complete,
            judgements=t.judgements,
            correct=t.correct,
            decided=t.decided,
            accuracy=t.accuracy,
            low=t.low,
            high=t.high,
            kappa=t.kappa,
            agreement=t.agreement,
            disagreements=list(t.disagreements),
        )


@strawberry.type(name="ReviewQueue", description="Predictions of a model version under review.")
class QueueType:
    id: strawberry.ID
    project: str
    model: str
    version: int
    version_id: strawberry.ID
    dataset: str = strawberry.field(description="The predictions table.")
    dataset_version: int
    prediction_column: str
    truth_column: str | None
    labels: list[str] = strawberry.field(description="The labels a reviewer chooses from.")
    per_item: int = strawberry.field(description="Verdicts wanted per sample.")
    instructions: str
    instructions_html: str
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    tally: TallyType


async def queue_types(store: Store, queues: list[ReviewQueue]) -> list[QueueType]:
    if not queues:
        return []
    counted = await reviews.tallies(store, queues)
    people = await names.people(store, {q.created_by for q in queues})
    versions = await names.model_versions(store, {q.version_id for q in queues})
    models = await names.models(store, {v.model_id for v in versions.values()})
    projects = await names.projects(store, {q.project_id for q in queues})
    tables = await names.dataset_versions(store, {q.dataset_version_id for q in queues})
    datasets = await names.datasets(store, {t.dataset_id for t in tables.values()})
    return [
        QueueType(
            id=strawberry.ID(q.id),
            project=projects[q.project_id].name,
            model=models[versions[q.version_id].model_id].name,
            version=versions[q.version_id].number,
            version_id=strawberry.ID(q.version_id),
            dataset=datasets[tables[q.dataset_version_id].dataset_id].name,
            dataset_version=tables[q.dataset_version_id].number,
            prediction_column=q.prediction_column,
            truth_column=q.truth_column,
            labels=list(q.labels),
            per_item=q.per_item,
            instructions=q.instructions,
            instructions_html=render(q.instructions),
            created_by=people[q.created_by].name if q.created_by in people else "salon",
            created_at=q.created_at,
            closed_at=q.closed_at,
            tally=TallyType.of(counted[q.id]),
        )
        for q in queues
    ]


@strawberry.type(name="ReviewJudgement", description="Your verdict on a sample.")
class JudgementType:
    position: int
    correct: bool
    label: str | None
    comment: str
    judged_at: datetime


@strawberry.type(name="ReviewSample", description="A prediction to judge, with its row.")
class SampleType:
    position: int = strawberry.field(description="Its place in the queue, from 0.")
    row_number: int = strawberry.field(description="Its row in the predictions table.")
    columns: list[str]
    values: JSON = strawberry.field(description="The row's values (PII masked without the grant).")
    prediction: JSON
    truth: JSON
    judgements: int = strawberry.field(description="Verdicts on it so far, by anyone.")
    mine: JudgementType | None


@strawberry.type(
    name="ReviewSamples", description="Samples of a review, with where they come from."
)
class SamplesType:
    model: str
    version: int
    dataset: str
    dataset_version: int
    instructions_html: str
    labels: list[str]
    samples: list[SampleType] = strawberry.field(description="Empty: nothing left for you.")
    total: int
    judged_by_me: int


@strawberry.type(name="PublishedReview", description="The dataset version made from a review.")
class PublishedType:
    dataset: str
    version: int
    rows: int
    created: bool


QueueResult = Annotated[QueueType | Errors, strawberry.union("ReviewQueueResult")]
SamplesResult = Annotated[SamplesType | Errors, strawberry.union("ReviewSamplesResult")]
JudgeResult = Annotated[JudgementType | Errors, strawberry.union("JudgeSampleResult")]
PublishResult = Annotated[PublishedType | Errors, strawberry.union("PublishReviewResult")]


def _judgement(j: Judgement) -> JudgementType:
    return JudgementType(
        position=j.position,
        correct=j.correct,
        label=j.label,
        comment=j.comment,
        judged_at=j.judged_at,
    )


@strawberry.type
class ReviewQueries:
    @strawberry.field(description="Reviews waiting in your projects, newest first.")
    async def reviews(self, info: Info) -> list[QueueType]:
        ctx = info.context
        return await queue_types(ctx.store, await reviews.waiting(ctx.store, ctx.principal))

    @strawberry.field(description="One review with its tally.")
    async def review(self, info: Info, id: strawberry.ID) -> QueueResult:
        ctx = info.context

        async def one() -> QueueType:
            opened, _ = await reviews.summary(ctx.store, ctx.principal, id)
            return (await queue_types(ctx.store, [opened.queue]))[0]

        return await result_of(one(), lambda q: q)

    @strawberry.field(
        description="Samples to judge: by default the next one you have not judged that still "
        "needs verdicts; or `limit` from `offset` (a grid); or the one at `position`."
    )
    async def review_samples(
        self,
        info: Info,
        id: strawberry.ID,
        offset: int = 0,
        limit: int = 1,
        position: int | None = None,
    ) -> SamplesResult:
        ctx = info.context

        async def found() -> SamplesType:
            page = await reviews.samples(
                ctx.store, ctx.principal, id, position=position, offset=offset, limit=limit
            )
            opened = page.opened
            return SamplesType(
                model=opened.model,
                version=opened.version,
                dataset=opened.found.dataset.name,
                dataset_version=opened.record.number,
                instructions_html=render(opened.queue.instructions),
                labels=list(opened.queue.labels),
                total=page.total,
                judged_by_me=page.judged_by_me,
                samples=[
                    SampleType(
                        position=s.position,
                        row_number=s.row_number,
                        columns=s.columns,
                        values=JSON(s.values),
                        prediction=JSON(s.prediction),
                        truth=JSON(s.truth),
                        judgements=s.judgements,
                        mine=_judgement(s.mine) if s.mine else None,
                    )
                    for s in page.samples
                ],
            )

        return await result_of(found(), lambda s: s)


@strawberry.type
class ReviewMutations:
    @strawberry.mutation(
        description="Ask people to judge a random sample of a version's predictions: a "
        "dataset of its project with the prediction (and optionally the truth) per row (editors)."
    )
    async def start_review(
        self,
        info: Info,
        version_id: strawberry.ID,
        dataset: str,
        prediction_column: str,
        dataset_version: int | None = None,
        truth_column: str | None = None,
        labels: list[str] | None = None,
        size: int = 200,
        per_item: int = 2,
        instructions: str = "",
        seed: int | None = None,
    ) -> QueueResult:
        ctx = info.context

        async def made() -> QueueType:
            queue = await reviews.start(
                ctx.store,
                ctx.principal,
                version_id,
                dataset,
                prediction_column,
                dataset_version=dataset_version,
                truth_column=truth_column,
                labels=labels,
                size=size,
                per_item=per_item,
                instructions=instructions,
                seed=seed,
            )
            return (await queue_types(ctx.store, [queue]))[0]

        return await result_of(made(), lambda q: q)

    @strawberry.mutation(
        description="Your verdict on a sample (commenters and up); judging it again replaces it."
    )
    async def judge_sample(
        self,
        info: Info,
        id: strawberry.ID,
        position: int,
        correct: bool,
        label: str | None = None,
        comment: str = "",
    ) -> JudgeResult:
        ctx = info.context
        work = reviews.judge(ctx.store, ctx.principal, id, position, correct, label, comment)
        return await result_of(work, _judgement)

    @strawberry.mutation(description="Stop taking verdicts (editors).")
    async def close_review(self, info: Info, id: strawberry.ID) -> QueueResult:
        ctx = info.context

        async def closed() -> QueueType:
            queue = await reviews.close(ctx.store, ctx.principal, id)
            return (await queue_types(ctx.store, [queue]))[0]

        return await result_of(closed(), lambda q: q)

    @strawberry.mutation(
        description="A new version of the predictions table with the reviewed labels "
        "(review_correct, review_label, review_count), for the next training round (editors)."
    )
    async def publish_review(
        self, info: Info, id: strawberry.ID, message: str = ""
    ) -> PublishResult:
        ctx = info.context

        async def published() -> PublishedType:
            record, created = await reviews.publish(
                ctx.store, ctx.settings, ctx.principal, id, message
            )
            dataset = (await names.datasets(ctx.store, [record.dataset_id]))[record.dataset_id]
            return PublishedType(
                dataset=dataset.name, version=record.number, rows=record.row_count, created=created
            )

        return await result_of(published(), lambda p: p)
