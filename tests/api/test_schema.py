"""schema/hub.graphql is the contract: it must match the code."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError
from strawberry.types.execution import ExecutionResult

import hub.api.schema as schema_module
from hub.api.schema import MaskUnexpectedErrors, build_schema, sdl
from hub.errors import NotFound

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "hub.graphql"


def test_checked_in_sdl_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == sdl(), (
        "schema/hub.graphql is out of date with the code. Regenerate it with `make schema` "
        "(python -m hub.api.export > schema/hub.graphql) and commit the result."
    )


def test_every_root_field_and_argument_type_is_described() -> None:
    schema = build_schema()._schema
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            assert field.description, f"{root.name}.{name} needs a description="


def test_unexpected_errors_are_masked_with_an_id_and_expected_ones_pass() -> None:
    mask = MaskUnexpectedErrors()
    unexpected = GraphQLError("secret path /etc/x", original_error=RuntimeError("boom"))
    expected = GraphQLError("No run", original_error=NotFound("No run"))
    syntax = GraphQLError("Syntax Error: Expected Name")
    result = ExecutionResult(data=None, errors=[unexpected, expected, syntax])
    mask._process_result(result)
    assert result.errors is not None
    masked, kept, parse_error = result.errors
    assert "secret" not in masked.message and masked.message.startswith("Unexpected error (id ")
    assert kept.message == "No run" and parse_error.message.startswith("Syntax Error")


def test_a_document_is_validated_once_per_text_and_answered_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Validation is kept by the document's text: the second request with the same text is
    not validated again, and gets the same answer (errors included) as the first."""
    validated: list[str] = []
    original = schema_module.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        validated.append(document.loc.source.body)
        return original(schema, document, rules)

    monkeypatch.setattr(schema_module, "validate_document", counting)
    schema = build_schema()
    valid = "{ __typename }"
    unknown = "{ noSuchField }"
    deep = "{ runs { ... on RunConnection { nodes { " + "project { recentRuns { " * 7
    deep += "id" + " } }" * 7 + " } } } }"
    for text in (valid, unknown, deep):
        first, second = (asyncio.run(schema.execute(text)) for _ in range(2))
        assert first.data == second.data
        assert [e.message for e in first.errors or []] == [e.message for e in second.errors or []]
        assert bool(first.errors) == (text != valid), text
    assert validated == [valid, unknown, deep]
    asyncio.run(schema.execute("{  __typename }"))  # another text: validated by itself
    assert len(validated) == 4
