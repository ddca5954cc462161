"""Every package Salon's code imports is declared in pyproject.toml, so that an install from the
wheel has it (a package that came only through another one disappears the day that one drops
it); the light client (``pip install salon``) imports nothing beyond its own dependencies when
it loads; and the table the command line uses to name a missing extra agrees with pyproject."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hub.extras import EXTRA_OF

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "connectors", "dashboard")
# What `pip install salon` loads: the notebook client and the command line's client commands.
LIGHT = (
    "hub/__init__.py",
    "hub/client",
    "hub/cli",
    "hub/settings.py",
    "hub/extras.py",
)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def names(requirements: list[str]) -> set[str]:
    found = set()
    for text in requirements:
        requirement = Requirement(text)
        found.add(canonicalize_name(requirement.name))
    return found


CORE = names(PROJECT["dependencies"])
EXTRAS = {extra: names(r) for extra, r in PROJECT["optional-dependencies"].items()}


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    # A folder run as a script (``python -I hub/store/dataset_worker``) imports its own files by
    # their names: they are Salon's, not packages to declare.
    beside = {sibling.stem for sibling in path.parent.glob("*.py")}
    return found - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"} - beside


DISTRIBUTIONS = packages_distributions()  # slow to build: once


def owners(module: str) -> set[str]:
    return {canonicalize_name(d) for d in DISTRIBUTIONS.get(module, [module])}


def files(*where: str) -> list[Path]:
    found: list[Path] = []
    for place in where:
        path = ROOT / place
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def test_every_import_is_declared() -> None:
    declared = CORE.union(*EXTRAS.values())
    missing = {
        module: str(path.relative_to(ROOT))
        for path in files(*PACKAGES)
        for module in imports(path)
        if not owners(module) & declared
    }
    assert not missing, f"declare these in pyproject.toml: {missing}"


def test_the_light_client_loads_only_its_own_dependencies() -> None:
    heavy = {
        module: str(path.relative_to(ROOT))
        for path in files(*LIGHT)
        for module in imports(path, top_level_only=True)
        if not owners(module) & CORE
    }
    assert not heavy, f"import these inside the functions that need them: {heavy}"


def test_each_missing_module_names_the_extra_that_brings_it() -> None:
    wrong = {
        module: extra for module, extra in EXTRA_OF.items() if not owners(module) & EXTRAS[extra]
    }
    assert not wrong, wrong
    server_side = {
        module
        for path in files(*PACKAGES)
        if not any(str(path.relative_to(ROOT)).startswith(light) for light in LIGHT)
        for module in imports(path)
        if not owners(module) & CORE
    }
    assert server_side <= set(EXTRA_OF), (
        f"name their extra in hub/extras.py: {server_side - set(EXTRA_OF)}"
    )
