"""Wiki pages and notebooks in GraphQL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.collaboration import PageRecord
from hub.services.collaboration import notebooks, pages
from hub.services.policy import names

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.type(name="PageCard", description="An object a page refers to, as you may see it.")
class CardType:
    reference: str = strawberry.field(description="As written: run:NAME, dataset:NAME@2 …")
    kind: str
    title: str
    state: str = strawberry.field(description="Its current state in a line.")
    object_id: strawberry.ID | None = strawberry.field(
        description="Null when it does not exist or you may not see it."
    )


@strawberry.type(name="NotebookCell", description="A notebook's cell, rendered and sanitized.")
class CellType:
    index: int
    kind: str = strawberry.field(description="markdown, code or raw.")
    source: str
    html: str
    execution_count: int | None


@strawberry.type(name="Page", description="A wiki page or a notebook, at one version.")
class PageType:
    id: strawberry.ID
    project: str
    slug: str
    kind: str = strawberry.field(description="page or notebook.")
    run_id: strawberry.ID | None
    title: str
    version: int
    message: str
    author: str
    updated_at: datetime
    created_at: datetime
    record: strawberry.Private[PageRecord]
    # The cards are read once for a page, whether asked for as cards, in its html or both.
    found_cards: strawberry.Private[asyncio.Future[list[pages.Card]] | None] = None

    def _cards(self, info: Info) -> asyncio.Future[list[pages.Card]]:
        if self.found_cards is None:
            ctx = info.context
            self.found_cards = asyncio.ensure_future(
                pages.cards(ctx.store, ctx.principal, self.record)
            )
        return self.found_cards

    @strawberry.field(description="Markdown (pages) or the notebook's JSON.")
    def body(self) -> str:
        return self.record.body

    @strawberry.field(
        description="The page rendered and sanitized, each reference shown as its card's title "
        "and state (empty for notebooks)."
    )
    async def html(self, info: Info) -> str:
        return pages.html(self.record, await self._cards(info))

    @strawberry.field(description="The notebook's cells (empty for pages).")
    def cells(self) -> list[CellType]:
        if self.record.kind != "notebook":
            return []
        return [
            CellType(
                index=c.index,
                kind=c.kind,
                source=c.source,
                html=c.html,
                execution_count=c.execution_count,
            )
            for c in notebooks.cells(notebooks.read(self.record.body))
        ]

    @strawberry.field(description="What the page refers to, each as you may see it now.")
    async def cards(self, info: Info) -> list[CardType]:
        return [
            CardType(
                reference=c.reference,
                kind=c.kind,
                title=c.title,
                state=c.state,
                object_id=strawberry.ID(c.object_id) if c.object_id else None,
            )
            for c in await self._cards(info)
        ]

    @strawberry.field(description="Every version, newest first (body included).")
    async def history(self, info: Info) -> list[PageType]:
        ctx = info.context
        found = await pages.history(ctx.store, ctx.principal, self.record)
        return await shown(ctx.store, found)


async def shown(store: Store, found: list[PageRecord]) -> list[PageType]:
    people, projects = await names.people_and_projects(
        store, (p.author_id for p in found), (p.project_id for p in found)
    )
    return [
        PageType(
            id=strawberry.ID(p.id),
            project=projects[p.project_id],
            slug=p.slug,
            kind=p.kind,
            run_id=strawberry.ID(p.run_id) if p.run_id else None,
            title=p.title,
            version=p.number,
            message=p.message,
            author=people.get(p.author_id, "salon"),
            updated_at=p.updated_at or p.created_at,
            created_at=p.created_at,
            record=p,
        )
        for p in found
    ]


PageResult = Annotated[PageType | Errors, strawberry.union("PageResult")]


@strawberry.type
class PageQueries:
    @strawberry.field(description="A project's pages and notebooks (latest versions), by title.")
    async def pages(self, info: Info, project: str) -> list[PageType]:
        ctx = info.context
        return await shown(ctx.store, await pages.of_project(ctx.store, ctx.principal, project))

    @strawberry.field(description="One page or notebook, the latest version unless asked.")
    async def page(
        self, info: Info, project: str, slug: str, version: int | None = None
    ) -> PageResult:
        ctx = info.context

        async def one() -> PageType:
            found = await pages.get(ctx.store, ctx.principal, project, slug, version)
            return (await shown(ctx.store, [found]))[0]

        return await result_of(one(), lambda p: p)

    @strawberry.field(description="Notebooks attached to a run.")
    async def run_notebooks(self, info: Info, run_id: strawberry.ID) -> list[PageType]:
        ctx = info.context
        return await shown(ctx.store, await pages.of_run(ctx.store, ctx.principal, run_id))


@strawberry.type
class PageMutations:
    @strawberry.mutation(
        description="Save a new version of a page (Markdown) or notebook (its .ipynb JSON), "
        "creating it when new; commenters and up. A notebook may be attached to a run."
    )
    async def save_page(
        self,
        info: Info,
        project: str,
        slug: str,
        body: str,
        title: str = "",
        message: str = "",
        kind: str = "page",
        run_id: strawberry.ID | None = None,
    ) -> PageResult:
        ctx = info.context

        async def saved() -> PageType:
            page = await pages.save(
                ctx.store, ctx.principal, project, slug, title, body, message, kind, run_id
            )
            return (await shown(ctx.store, [page]))[0]

        return await result_of(saved(), lambda p: p)
