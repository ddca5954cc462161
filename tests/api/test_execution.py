"""The short way for plain fields answers exactly what graphql-core's own execution answers:
the same data, the same errors at the same paths, for documents that take it and documents
that must leave it (nulls, refused values, raising attributes, directives, aliases)."""

from __future__ import annotations

import asyncio
import enum
import math
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from hub.api.execution import PlainFieldsExecution


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Pair:
    key: str
    value: str | None
    count: int
    share: float


class RaisingPair:
    """Read as a Pair (object types here have no type check), but its key cannot be read."""

    value = "v"
    count = 1
    share = 0.5

    @property
    def key(self) -> str:
        raise RuntimeError("cannot read the key")


@strawberry.type
class Item:
    id: strawberry.ID
    title: str
    colour: Colour
    score: float | None
    pairs: list[Pair]
    maybe_pairs: list[Pair | None]

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.title.upper() * times


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str = "plain") -> list[Item]:
        return [make_item(index, case) for index in range(3)]

    @strawberry.field
    def pairs(self, case: str = "plain") -> list[Pair]:
        return [make_pair(index, case) for index in range(4)]

    @strawberry.field
    async def later(self) -> list[Pair]:
        await asyncio.sleep(0)
        return [make_pair(index, "plain") for index in range(2)]


def make_pair(index: int, case: str) -> Any:
    pair = Pair(key=f"k{index}", value=f"v{index}", count=index, share=index / 3)
    if case == "null-in-non-null" and index == 2:
        pair.key = None  # type: ignore[assignment]
    if case == "nullable-null" and index == 1:
        pair.value = None
    if case == "too-big" and index == 3:
        pair.count = 2**40
    if case == "not-finite" and index == 0:
        pair.share = math.inf
    if case == "number-as-text" and index == 1:
        pair.key = 12  # type: ignore[assignment]
    if case == "missing-item" and index == 1:
        return None
    if case == "raising-attribute" and index == 2:
        return RaisingPair()
    if case == "error-value" and index == 0:
        pair.value = ValueError("an exception as a value")  # type: ignore[assignment]
    return pair


def make_item(index: int, case: str) -> Item:
    colour = Colour.BLUE if index % 2 else Colour.RED
    pairs = [make_pair(n, case) for n in range(3)]
    item = Item(
        id=strawberry.ID(f"item-{index}"),
        title=f"title {index}",
        colour=colour,
        score=None if index == 1 else index * 1.5,
        pairs=pairs,
        maybe_pairs=[None, *pairs],
    )
    if case == "bad-enum" and index == 2:
        item.colour = "green"  # type: ignore[assignment]
    return item


DOCUMENTS = {
    "every plain field": "{ items { id title colour score pairs { key value count share } } }",
    "aliases and repeats": "{ items { a: title b: title title, pairs { k: key key } } }",
    "typename beside plain fields": "{ items { __typename id pairs { __typename key } } }",
    "a field with arguments": "{ items { title shout(times: 2) } }",
    "nullable items in a list": "{ items { maybePairs { key value } } }",
    "include and skip": (
        "query($yes: Boolean!) { items { title @include(if: $yes) "
        "colour @skip(if: $yes) pairs @include(if: $yes) { key } } }"
    ),
    "fragments": (
        "{ items { ...Head pairs { ...Tail } } } fragment Head on Item { id title } "
        "fragment Tail on Pair { value count }"
    ),
    "an async list": "{ later { key count } }",
    "a null in a non-null field": '{ pairs(case: "null-in-non-null") { key value } }',
    "a null in a nullable field": '{ pairs(case: "nullable-null") { key value } }',
    "an int out of range": '{ pairs(case: "too-big") { key count } }',
    "an infinite float": '{ pairs(case: "not-finite") { share } }',
    "a number where text is due (written as text)": '{ pairs(case: "number-as-text") { key } }',
    "a missing list item": '{ pairs(case: "missing-item") { key } }',
    "an exception as a value": '{ pairs(case: "error-value") { value } }',
    "an attribute that raises": '{ pairs(case: "raising-attribute") { key value } }',
    "a value the enum refuses": '{ items(case: "bad-enum") { colour } }',
    "nested null in a non-null field": (
        '{ items(case: "null-in-non-null") { title pairs { key } } }'
    ),
}
ERRING = {
    "a null in a non-null field",
    "an int out of range",
    "an infinite float",
    "a missing list item",
    "an exception as a value",
    "an attribute that raises",
    "a value the enum refuses",
    "nested null in a non-null field",
}


def run(document: str, execution: type) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=execution)
    result = asyncio.run(schema.execute(document, variable_values={"yes": True}))
    errors = [(error.message, error.path) for error in result.errors or []]
    return {"data": result.data, "errors": sorted(errors, key=str)}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_plain_fields_answer_what_graphql_core_answers(document: str) -> None:
    expected = run(document, StrawberryGraphQLCoreExecutionContext)
    assert run(document, PlainFieldsExecution) == expected


def test_the_cases_reach_the_errors_they_are_named_for() -> None:
    """The differential test above would pass on two empty answers: check that the cases
    with bad values do produce errors and those without do not."""
    for name, document in DOCUMENTS.items():
        answer = run(document, PlainFieldsExecution)
        erring = name in ERRING
        assert bool(answer["errors"]) == erring, name
        assert answer["data"] is not None or erring, name


def test_the_hub_schema_executes_with_the_short_way() -> None:
    from hub.api.schema import build_schema

    assert build_schema().execution_context_class is PlainFieldsExecution
