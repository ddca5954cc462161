"""The dashboard's named GraphQL operations, read from ``dashboard/queries/*.graphql``. Apart
from ``hub_client`` so that tools (the bench, the tests) read them without Streamlit."""

from __future__ import annotations

import functools
import re
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"

_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+(\w+)", re.MULTILINE)


@functools.cache
def operations() -> dict[str, str]:
    """Every named operation, mapped to the text of the file that defines it."""
    found: dict[str, str] = {}
    for path in sorted(QUERIES_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        for name in _OPERATION.findall(text):
            if name in found:
                raise ValueError(f"operation {name} is defined twice (again in {path.name})")
            found[name] = text
    return found
