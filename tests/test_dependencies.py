"""Every package Salon's code imports is declared in pyproject.toml (in its dependencies, or in
the extra of the feature that imports it), so that an install from the wheel has it: a package
that came only through another one disappears the day that one drops it."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "connectors", "dashboard")
# Imported only by the feature its extra installs (the code says so where it imports them).
EXTRAS = {"mlflow": {"mlflow", "sqlalchemy", "alembic", "psycopg"}}


def imported_modules() -> dict[str, set[str]]:
    """Top-level modules imported anywhere in Salon's packages, with the files importing them."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    extras = {
        extra: {canonicalize_name(Requirement(r).name) for r in requirements}
        for extra, requirements in project["optional-dependencies"].items()
    }
    distributions = packages_distributions()
    missing = {}
    for module, files in sorted(imported_modules().items()):
        if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
            continue
        owners = {canonicalize_name(d) for d in distributions.get(module, [module])}
        allowed = set(declared)
        for extra, modules in EXTRAS.items():
            if module in modules:
                allowed |= extras[extra]
        if not owners & allowed:
            missing[module] = sorted(files)[:3]
    assert not missing, f"declare these in pyproject.toml: {missing}"
