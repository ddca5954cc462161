"""Model cards in GraphQL: a version's card, and the sections its owners write."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.services.collaboration.markdown import render
from hub.services.registry import model_cards


@strawberry.type(name="ModelCardSection", description="A part of a model card.")
class SectionType:
    key: str = strawberry.field(description="intended_use, limitations … or a generated part.")
    title: str
    markdown: str
    html: str
    editable: bool = strawberry.field(description="Written by the owners, not generated.")

    @classmethod
    def of(cls, section: model_cards.Section) -> SectionType:
        return cls(
            key=section.key,
            title=section.title,
            markdown=section.markdown,
            html=render(section.markdown),
            editable=section.editable,
        )


@strawberry.type(name="ModelCard", description="What a model version is, from tracked facts.")
class CardType:
    model: str
    version: int
    sections: list[SectionType]
    markdown: str = strawberry.field(description="The whole card, to export.")


CardResult = Annotated[CardType | Errors, strawberry.union("ModelCardResult")]
SectionResult = Annotated[SectionType | Errors, strawberry.union("ModelCardSectionResult")]


@strawberry.type
class ModelCardQueries:
    @strawberry.field(
        description="A model version's card, generated from what Salon tracked "
        "and what the owners wrote."
    )
    async def model_card(self, info: Info, version_id: strawberry.ID) -> CardResult:
        ctx = info.context
        work = model_cards.card(ctx.store, ctx.principal, version_id)
        return await result_of(
            work,
            lambda c: CardType(
                model=c.model,
                version=c.version,
                markdown=c.markdown,
                sections=[SectionType.of(s) for s in c.sections],
            ),
        )


@strawberry.type
class ModelCardMutations:
    @strawberry.mutation(
        description="Write a section of a model's card (editors): intended_use, out_of_scope, "
        "limitations, ethics or how_to_use."
    )
    async def write_model_card(
        self, info: Info, project: str, model: str, section: str, body: str
    ) -> SectionResult:
        ctx = info.context
        work = model_cards.write(ctx.store, ctx.principal, project, model, section, body)
        return await result_of(work, SectionType.of)
