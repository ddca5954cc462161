"""Share links in GraphQL: make one for a view, list a project's, revoke one."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.api.share_views import renderer
from hub.domain.collaboration import ShareLinkRecord
from hub.services.collaboration import share_links
from hub.settings import Settings


@strawberry.enum(name="ShareView", description="What a share link shows.")
class ShareView(enum.Enum):
    RUN_COMPARISON = "run_comparison"
    METRIC_CHART = "metric_chart"
    DATASET_PROFILE = "dataset_profile"
    MODEL_CARD = "model_card"
    REVIEW_SUMMARY = "review_summary"
    RESOURCE_USAGE = "resource_usage"
    WIKI_PAGE = "wiki_page"


assert {view.value for view in ShareView} == set(share_links.VIEWS)


@strawberry.input(name="ShareLinkInput", description="What to share, and for how long.")
class ShareLinkInput:
    view: ShareView
    project: str
    title: str = strawberry.field(description="Shown above the view and in wikis' previews.")
    run_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="RUN_COMPARISON: up to 12 runs; METRIC_CHART: one run."
    )
    metrics: list[str] | None = strawberry.field(
        default=None, description="RUN_COMPARISON and METRIC_CHART: up to 8 metrics to chart."
    )
    dataset: str | None = strawberry.field(default=None, description="DATASET_PROFILE.")
    dataset_version: int | None = strawberry.field(
        default=None, description="DATASET_PROFILE: a version number (default: the latest)."
    )
    model_version_id: strawberry.ID | None = strawberry.field(
        default=None, description="MODEL_CARD."
    )
    review_id: strawberry.ID | None = strawberry.field(default=None, description="REVIEW_SUMMARY.")
    slug: str | None = strawberry.field(default=None, description="WIKI_PAGE.")
    days: int | None = strawberry.field(
        default=None, description="RESOURCE_USAGE: how many days back (default 7)."
    )
    expires_in_days: int = share_links.DEFAULT_DAYS
    signed_in_only: bool = strawberry.field(
        default=False, description="Only people with an account in Salon, signed in, may look."
    )


@strawberry.type(
    name="ShareLink", description="A read-only link to one view (its secret is never shown again)."
)
class ShareLinkType:
    id: strawberry.ID
    view: ShareView
    object_id: str = strawberry.field(description="The run(s), version, page … it shows.")
    title: str
    created_by: str = strawberry.field(description="Who made it: the link reads as them.")
    created_at: datetime
    expires_at: datetime
    signed_in_only: bool
    revoked_at: datetime | None
    last_viewed_at: datetime | None
    state: str = strawberry.field(description="active, expired or revoked.")

    @classmethod
    def of(cls, link: ShareLinkRecord) -> ShareLinkType:
        return cls(
            id=strawberry.ID(link.id),
            view=ShareView(link.view),
            object_id=link.object_id,
            title=link.title,
            created_by=link.created_by_name,
            created_at=link.created_at,
            expires_at=link.expires_at,
            signed_in_only=link.signed_in_only,
            revoked_at=link.revoked_at,
            last_viewed_at=link.last_viewed_at,
            state=share_links.state_of(link),
        )


@strawberry.type(
    name="NewShareLink", description="A link just made, with its addresses (shown once)."
)
class NewShareLinkType:
    link: ShareLinkType
    url: str = strawberry.field(description="Open in a browser, or paste into a chat or wiki.")
    embed_url: str = strawberry.field(description="The view alone, for an iframe.")
    embed_html: str = strawberry.field(description="The iframe to paste into a wiki page.")
    snapshot_png_url: str | None = strawberry.field(
        description="A picture of the view, drawn on request (charts only; null for cards)."
    )
    snapshot_html_url: str = strawberry.field(description="A self-contained page of the view.")

    @classmethod
    def of(cls, settings: Settings, made: tuple[ShareLinkRecord, str]) -> NewShareLinkType:
        link, secret = made
        snapshots = share_links.snapshot_urls(settings, secret, link)
        return cls(
            link=ShareLinkType.of(link),
            url=share_links.share_url(settings, secret),
            embed_url=share_links.embed_url(settings, secret),
            embed_html=share_links.embed_html(settings, secret, link),
            snapshot_png_url=snapshots["png"],
            snapshot_html_url=str(snapshots["html"]),
        )


NewShareLinkResult = Annotated[
    NewShareLinkType | Errors,
    strawberry.union("NewShareLinkResult"),
]
ShareLinkResult = Annotated[ShareLinkType | Errors, strawberry.union("ShareLinkResult")]


@strawberry.type
class ShareLinkQueries:
    @strawberry.field(description="A project's share links, newest first (revoked ones too).")
    async def share_links(self, info: Info, project: str) -> list[ShareLinkType]:
        ctx = info.context
        found = await share_links.list_links(ctx.store, ctx.principal, project)
        return [ShareLinkType.of(link) for link in found]


@strawberry.type
class ShareLinkMutations:
    @strawberry.mutation(
        description="Share one view of one object (editors): a read-only link that expires, "
        "for wikis and people without an account."
    )
    async def create_share_link(self, info: Info, input: ShareLinkInput) -> NewShareLinkResult:
        ctx = info.context
        request = share_links.ShareRequest(
            view=input.view.value,
            project=input.project,
            title=input.title,
            run_ids=[str(r) for r in input.run_ids or []],
            metrics=input.metrics or [],
            dataset=input.dataset,
            dataset_version=input.dataset_version,
            model_version_id=input.model_version_id,
            review_id=input.review_id,
            slug=input.slug,
            days=input.days,
            expires_in_days=input.expires_in_days,
            signed_in_only=input.signed_in_only,
        )
        work = share_links.create(ctx.store, ctx.principal, request, renderer(info.schema, ctx))
        return await result_of(work, lambda made: NewShareLinkType.of(ctx.settings, made))

    @strawberry.mutation(description="Revoke a share link (its maker, or a maintainer).")
    async def revoke_share_link(self, info: Info, id: strawberry.ID) -> ShareLinkResult:
        ctx = info.context
        work = share_links.revoke(ctx.store, ctx.principal, id)
        return await result_of(work, ShareLinkType.of)
