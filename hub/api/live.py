"""Subscriptions (graphql-transport-ws over a WebSocket at /graphql): new activity, comments on
an object and a run's new metric points, pushed as they are committed.

Each subscription checks access when it opens, like the matching query, and again for every
update with the subscriber's access at that moment: a role taken away or a dataset restricted
meanwhile stops the updates about it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from hub.api.context import Info
from hub.api.discussions import ActivityEntryType, CommentType, TargetKind, comments_of, entries
from hub.clock import now
from hub.services.collaboration import activity, comments
from hub.services.policy import permissions
from hub.services.tracking import runs


@strawberry.type(name="MetricUpdate", description="New points were logged to a run.")
class MetricUpdateType:
    run_id: strawberry.ID
    points: int = strawberry.field(description="How many points the batch held.")
    at: datetime


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Activity as it happens: of one project, about one object, or of every "
        "project you can read."
    )
    async def activity_added(
        self,
        info: Info,
        project: str | None = None,
        about_kind: TargetKind | None = None,
        about_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[ActivityEntryType, None]:
        ctx = info.context
        principal = ctx.principal
        about = (about_kind.value, str(about_id)) if about_kind and about_id else None
        project_id = await activity.subscribe(ctx.store, principal, project, about)
        async with ctx.live.changes() as queue:
            while True:
                committed = await queue.get()
                for entry in committed.entries:
                    if await activity.visible(ctx.store, principal, entry, project_id, about):
                        yield (await entries(ctx.store, [entry]))[0]

    @strawberry.subscription(
        description="Comments on an object as they are written, edited, deleted or resolved."
    )
    async def comment_added(
        self, info: Info, kind: TargetKind, id: strawberry.ID
    ) -> AsyncGenerator[CommentType, None]:
        ctx = info.context
        principal = ctx.principal
        target = await comments.subscribe(ctx.store, principal, kind.value, str(id))
        async with ctx.live.changes() as queue:
            while True:
                committed = await queue.get()
                found = await comments.arrived(ctx.store, principal, target, committed.entries)
                for shown in await comments_of(ctx.store, found, principal.user_id):
                    yield shown

    @strawberry.subscription(description="A run's newly logged metric points, batch by batch.")
    async def metric_points(
        self, info: Info, run_id: strawberry.ID
    ) -> AsyncGenerator[MetricUpdateType, None]:
        ctx = info.context
        principal = ctx.principal
        (run,) = await runs.visible_runs(ctx.store, principal, [run_id], "metrics.subscribe")
        async with ctx.live.changes() as queue:
            while True:
                committed = await queue.get()
                for event in committed.trail:
                    if event.action != "metrics.ingest" or event.object_id != run.id:
                        continue
                    if await permissions.access_to(ctx.store, principal, run.project_id) is None:
                        continue
                    yield MetricUpdateType(
                        run_id=strawberry.ID(run.id), points=event.row_count or 0, at=now()
                    )
