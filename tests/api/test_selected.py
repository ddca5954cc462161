"""``selected`` (which fields a resolver's selection asks for) reads the syntax tree; it must
find what Strawberry's own typed copy of the selection finds, through every kind of fragment."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry

from hub.api.context import selected

NAMES = frozenset({"tags", "metrics", "totalCount", "probe"})


def by_strawberry(info: strawberry.Info, names: frozenset[str]) -> frozenset[str]:
    found: set[str] = set()
    stack: list[Any] = list(info.selected_fields)
    while stack:
        node = stack.pop()
        if getattr(node, "name", None) in names:
            found.add(node.name)
        stack.extend(getattr(node, "selections", None) or [])
    return frozenset(found)


@strawberry.type
class Leaf:
    tags: str = "t"
    metrics: str = "m"
    name: str = "n"


@strawberry.type
class Page:
    total_count: int = 1
    nodes: list[Leaf] = strawberry.field(default_factory=lambda: [Leaf()])


ANSWERS: list[tuple[frozenset[str], frozenset[str]]] = []


@strawberry.type
class Query:
    @strawberry.field
    def probe(self, info: strawberry.Info) -> Page:
        ANSWERS.append((selected(info, NAMES), by_strawberry(info, NAMES)))
        return Page()


DOCUMENTS = {
    "nothing named": "{ probe { nodes { name } } }",
    "nested": "{ probe { totalCount nodes { tags } } }",
    "named fragment": "{ probe { ...P } } fragment P on Page { nodes { metrics } }",
    "fragment in fragment": (
        "{ probe { ...P } } fragment P on Page { nodes { ...L } } fragment L on Leaf { tags }"
    ),
    "inline fragment": "{ probe { ... on Page { totalCount } } }",
    "the same fragment twice": (
        "{ probe { ...P nodes { ...L } } } fragment P on Page { nodes { ...L } } "
        "fragment L on Leaf { metrics }"
    ),
    "aliased": "{ probe { count: totalCount nodes { labels: tags } } }",
}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_selected_finds_what_strawberry_s_selection_finds(document: str) -> None:
    ANSWERS.clear()
    result = asyncio.run(strawberry.Schema(query=Query).execute(document))
    assert result.errors is None, result.errors
    [(ours, theirs)] = ANSWERS
    assert ours == theirs
    assert "probe" in ours  # the field itself counts, as it did


def test_selected_finds_the_names_asked_for() -> None:
    ANSWERS.clear()
    asyncio.run(strawberry.Schema(query=Query).execute(DOCUMENTS["fragment in fragment"]))
    assert ANSWERS[0][0] == {"probe", "tags"}
