"""schema/hub.graphql is the contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLError
from strawberry.types.execution import ExecutionResult

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
