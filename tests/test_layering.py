"""The layering in DESIGN.md, checked: who may import what."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_only_the_store_imports_duckdb() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("hub")
        if "duckdb" in imports(path) and "store" not in path.relative_to(ROOT / "hub").parts
    ]
    assert not offenders, f"only hub/store/ may import duckdb: {offenders}"


def test_connectors_import_nothing_from_hub() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("connectors")
        if any(name == "hub" or name.startswith("hub.") for name in imports(path))
    ]
    assert not offenders, offenders


def test_dashboard_pages_never_touch_the_hub_package_or_the_database() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("dashboard")
        if any(
            name == "hub" or name.startswith("hub.") or name == "duckdb" for name in imports(path)
        )
    ]
    assert not offenders, f"the dashboard reaches data only through hub_client.py: {offenders}"


def test_the_client_package_does_not_load_the_server() -> None:
    server = ("hub.store", "hub.services", "hub.api", "hub.http", "hub.app")
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("hub/client")
        if any(name.startswith(server) for name in imports(path))
    ]
    assert not offenders, offenders
