"""The short ways answer exactly what graphql-core's and Strawberry's own execution answer: the
same data, the same errors at the same paths, for documents that take them and documents that
must leave them (nulls, refused values, raising attributes, directives, aliases, permissions,
resolvers that ask for more than ``self``)."""

from __future__ import annotations

import asyncio
import enum
import math
from typing import Any, ClassVar

import pytest
import strawberry
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from hub.api.execution import PlainFieldsExecution, lean_resolvers


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
    first: Pair
    best: Pair | None
    more: list[Pair] | None

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
        first=pairs[0],
        best=None if index == 1 else pairs[-1],
        more=None if index == 2 else pairs[1:],
    )
    if case == "bad-enum" and index == 2:
        item.colour = "green"  # type: ignore[assignment]
    if case == "missing-object" and index == 1:
        item.first = None  # type: ignore[assignment]
    if case == "generator" and index == 0:
        item.pairs = (pair for pair in pairs)  # type: ignore[assignment]
    if case == "text-as-list" and index == 0:
        item.pairs = "not a list"  # type: ignore[assignment]
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
    "objects, nullable and not, and a nullable list": (
        "{ items { first { key } best { key count } more { value } } }"
    ),
    "a null object in a non-null field": '{ items(case: "missing-object") { id first { key } } }',
    "a list given as a generator": '{ items(case: "generator") { pairs { key } } }',
    "text where a list is due": '{ items(case: "text-as-list") { pairs { key } } }',
    "a raising attribute two levels down": (
        '{ items(case: "raising-attribute") { id best { key } } }'
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
    "a null object in a non-null field",
    "text where a list is due",
    "a raising attribute two levels down",
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


class CountedCompletion(PlainFieldsExecution):
    completed: ClassVar[set[tuple[str | int, ...]]] = set()  # the paths graphql-core completed

    def complete_value(self, *args: Any, **kwargs: Any) -> Any:
        CountedCompletion.completed.add(tuple(args[3].as_list()))
        return super().complete_value(*args, **kwargs)


def test_objects_of_plain_fields_skip_graphql_core_s_completion() -> None:
    """The short way is taken, not only harmless: graphql-core completes the top field's list
    and nothing under it (every item, its pairs and its objects are built directly)."""
    document = DOCUMENTS["objects, nullable and not, and a nullable list"]
    CountedCompletion.completed = set()
    assert run(document, CountedCompletion) == run(document, StrawberryGraphQLCoreExecutionContext)
    assert CountedCompletion.completed == {("items",)}


def test_the_hub_schema_executes_with_the_short_way() -> None:
    from hub.api.schema import build_schema

    assert build_schema().execution_context_class is PlainFieldsExecution


class Refused(BasePermission):
    message = "not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Holder:
    title: str

    @strawberry.field
    def upper(self) -> str:
        return self.title.upper()

    @strawberry.field
    def pairs(self) -> list[Pair]:
        return [make_pair(index, "plain") for index in range(2)]

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("cannot work it out")

    @strawberry.field
    def nothing(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field(permission_classes=[Refused])  # type: ignore[untyped-decorator]
    def guarded(self) -> str:
        return "secret"

    @strawberry.field
    def named(self, info: strawberry.Info) -> str:
        return info.field_name


@strawberry.type
class HolderQuery:
    @strawberry.field
    def holders(self) -> list[Holder]:
        return [Holder(title="a"), Holder(title="b")]


HOLDER_DOCUMENTS = {
    "methods taking only self": "{ holders { title upper pairs { key count } } }",
    "a method that raises": "{ holders { title broken } }",
    "a method that raises beside a list": "{ holders { pairs { key } broken } }",
    "a method that returns null for a non-null field": "{ holders { nothing } }",
    "a field with a permission": "{ holders { guarded } }",
    "a method that asks for info": "{ holders { named } }",
}


def holder_schema(lean: bool) -> strawberry.Schema:
    schema = strawberry.Schema(query=HolderQuery, execution_context_class=PlainFieldsExecution)
    if lean:
        assert lean_resolvers(schema) == 5  # holders, upper, pairs, broken, nothing
    return schema


@pytest.mark.parametrize("document", HOLDER_DOCUMENTS.values(), ids=HOLDER_DOCUMENTS.keys())
def test_lean_resolvers_answer_what_strawberry_s_own_answer(document: str) -> None:
    def answer(lean: bool) -> tuple[Any, list[tuple[str, Any]]]:
        result = asyncio.run(holder_schema(lean).execute(document))
        return result.data, sorted((e.message, e.path) for e in result.errors or [])

    expected = answer(lean=False)
    assert answer(lean=True) == expected
    erring = ("broken", "nothing", "guarded")
    assert bool(expected[1]) == any(name in document for name in erring)


@strawberry.type
class Oops:
    message: str


class OopsHandler(strawberry.ExceptionHandler[ValueError, Oops]):
    def handle(self, exception: ValueError, *, field: Any, info: Any) -> Oops:
        return Oops(message=str(exception))


def test_a_schema_that_turns_exceptions_into_results_keeps_strawberry_s_resolvers() -> None:
    schema = strawberry.Schema(query=HolderQuery, exception_handlers=[OopsHandler()])
    assert lean_resolvers(schema) == 0
