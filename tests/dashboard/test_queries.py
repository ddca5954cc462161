"""Every named operation the dashboard sends is valid against the hub's schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

QUERIES = sorted((Path(__file__).resolve().parents[2] / "dashboard" / "queries").glob("*.graphql"))
SDL = Path(__file__).resolve().parents[2] / "schema" / "hub.graphql"


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_operations_validate_against_schema_hub_graphql(path: Path) -> None:
    errors = validate(build_schema(SDL.read_text()), parse(path.read_text()))
    assert not errors, [error.message for error in errors]
