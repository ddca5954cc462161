"""Webhooks in GraphQL: add, list with their recent deliveries, re-enable, delete."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.api.people import DoneResult, DoneType
from hub.domain.collaboration import DeliveryRecord, WebhookRecord
from hub.services.collaboration import webhooks


@strawberry.enum(name="WebhookFormat", description="What a webhook's deliveries look like.")
class WebhookFormat(Enum):
    STANDARD = "standard"
    SLACK = "slack"


@strawberry.type(name="WebhookDelivery", description="One message to a webhook.")
class DeliveryType:
    id: strawberry.ID = strawberry.field(description="The webhook-id header receivers see.")
    activity_id: strawberry.ID
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status: int | None = strawberry.field(description="HTTP status of the last attempt.")
    last_error: str | None

    @classmethod
    def of(cls, d: DeliveryRecord) -> DeliveryType:
        return cls(
            id=strawberry.ID(d.id),
            activity_id=strawberry.ID(d.activity_id),
            created_at=d.created_at,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            gave_up_at=d.gave_up_at,
            last_status=d.last_status,
            last_error=d.last_error,
        )


@strawberry.type(name="Webhook", description="Where a project's activity is pushed.")
class WebhookType:
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(description="Verb prefixes sent; empty: everything.")
    format: WebhookFormat
    created_at: datetime
    failures: int = strawberry.field(description="Failed attempts in a row.")
    disabled_at: datetime | None
    disabled_reason: str | None

    @strawberry.field(description="The latest messages, newest first.")
    async def deliveries(self, info: Info, limit: int = 20) -> list[DeliveryType]:
        ctx = info.context
        found = await webhooks.deliveries(ctx.store, ctx.principal, self.id, limit)
        return [DeliveryType.of(d) for d in found]

    @classmethod
    def of(cls, hook: WebhookRecord) -> WebhookType:
        return cls(
            id=strawberry.ID(hook.id),
            url=hook.url,
            events=hook.events,
            format=WebhookFormat(hook.format),
            created_at=hook.created_at,
            failures=hook.failures,
            disabled_at=hook.disabled_at,
            disabled_reason=hook.disabled_reason,
        )


@strawberry.type(name="WebhookCreated", description="A new webhook and its signing secret.")
class WebhookCreatedType:
    webhook: WebhookType
    secret: str = strawberry.field(
        description="Verifies the webhook-signature header (Standard Webhooks); shown only now."
    )


CreatedResult = Annotated[WebhookCreatedType | Errors, strawberry.union("CreateWebhookResult")]
WebhookResult = Annotated[WebhookType | Errors, strawberry.union("WebhookResult")]


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="A project's webhooks (maintainers).")
    async def webhooks(self, info: Info, project: str) -> list[WebhookType]:
        ctx = info.context
        return [
            WebhookType.of(h) for h in await webhooks.of_project(ctx.store, ctx.principal, project)
        ]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Push a project's activity to a URL (maintainers): the kinds of entries "
        "named in events (verb prefixes such as 'run.finish' or 'comment.'; none: all). Only "
        "public addresses are accepted."
    )
    async def create_webhook(
        self,
        info: Info,
        project: str,
        url: str,
        events: list[str] | None = None,
        format: WebhookFormat = WebhookFormat.STANDARD,
    ) -> CreatedResult:
        ctx = info.context
        work = webhooks.create(
            ctx.store, ctx.settings, ctx.principal, project, url, events or [], format.value
        )
        return await result_of(
            work, lambda h: WebhookCreatedType(webhook=WebhookType.of(h), secret=h.secret)
        )

    @strawberry.mutation(description="Turn a disabled webhook on again (maintainers).")
    async def enable_webhook(self, info: Info, id: strawberry.ID) -> WebhookResult:
        ctx = info.context
        work = webhooks.enable(ctx.store, ctx.principal, id)
        return await result_of(work, WebhookType.of)

    @strawberry.mutation(description="Remove a webhook and its waiting messages (maintainers).")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> DoneResult:
        ctx = info.context
        work = webhooks.delete(ctx.store, ctx.principal, id)
        return await result_of(work, lambda _: DoneType(ok=True))
