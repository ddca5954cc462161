"""The layering in docs/architecture.md, checked: who may import what, and who calls the store."""

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


def _store_calls(path: Path) -> list[str]:
    """Calls like ``store.runs.by_ids(...)`` or ``ctx.store.users.groups()``: a method of one
    of the store's repositories, called directly."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        repository = node.func.value
        if not isinstance(repository, ast.Attribute):
            continue
        owner = repository.value
        named = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if named == "store":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_edges_reach_the_store_only_through_services() -> None:
    """GraphQL resolvers, HTTP handlers, the MLflow drop-in and sign-in call services, where
    access checks, audit events and the store's backends are honoured in one place."""
    offenders = [
        call
        for edge in ("hub/api", "hub/http", "hub/auth")
        for path in python_files(edge)
        for call in _store_calls(path)
    ]
    assert not offenders, f"add a service function for these reads: {offenders}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that loading ``path`` imports: its module-level imports, not
    those for type checking only, nor the packages it sits in (Python loads those first)."""
    own = _module_name(path)
    found: set[str] = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [m for m in modules if m in known] or [node.module]
        found.update(name for name in names if name in known and not own.startswith(f"{name}."))
    return found - {own}


def test_no_import_cycles() -> None:
    """Modules import each other in one direction only, so that each layer can be read (and
    loaded) on its own. GraphQL types that refer to each other use strawberry.lazy."""
    paths = {_module_name(path): path for path in python_files("hub")}
    graph = {name: _runtime_imports(path, set(paths)) for name, path in paths.items()}
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(graph[node]):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
            if cycles:
                break
        if cycles:
            break
    assert not cycles, f"break this import cycle: {cycles[0]}"


def _imports_in_functions(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import of a hub module made inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                names = [inner.module]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            found += [(inner.lineno, name) for name in names if name.split(".")[0] == "hub"]
    return found


def test_imports_inside_functions_hide_no_cycle() -> None:
    """An import inside a function can hide a cycle the test above would catch; it is kept
    for three reasons only: the CLI and ``import hub`` load the server's modules only for the
    command that needs them (the light client has none of them), and GraphQL types that refer
    to each other (a project lists its runs, a run names its project) import each other when
    a resolver runs, beside strawberry.lazy."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in python_files("hub")
        for line, module in _imports_in_functions(path)
        if not (
            path.relative_to(ROOT).parts[:2] == ("hub", "cli")
            or path == ROOT / "hub" / "__init__.py"
            or (path.parent == ROOT / "hub" / "api" and module.startswith("hub.api."))
        )
    ]
    assert not offenders, f"import at the top of the module, or break the cycle: {offenders}"


def test_the_shared_policy_builds_on_no_area() -> None:
    """hub/services/policy (principal, permissions, audit, feed entries, limits) is what every
    area of the services builds on; it imports none of them at run time."""
    areas = [p.name for p in (ROOT / "hub" / "services").iterdir() if (p / "__init__.py").is_file()]
    known = {_module_name(path) for path in python_files("hub")}
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files("hub/services/policy")
        for name in sorted(_runtime_imports(path, known))
        if any(name.startswith(f"hub.services.{area}") for area in areas if area != "policy")
    ]
    assert not offenders, offenders


def test_the_domain_depends_on_nothing_of_the_hub() -> None:
    """hub/domain holds the records every layer shares; it needs none of those layers."""
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files("hub/domain")
        for name in sorted(imports(path))
        if name.startswith("hub.") and not name.startswith("hub.domain")
    ]
    assert not offenders, offenders


def test_edges_do_not_load_the_store() -> None:
    """The edges know the store only as a type (under TYPE_CHECKING): what they need of it is
    a service, and the records they show come from hub/domain."""
    offenders = [
        f"{path.relative_to(ROOT)}: {node.module}"
        for edge in ("hub/api", "hub/http", "hub/auth")
        for path in python_files(edge)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("hub.store")
        and not _under_type_checking(path, node)
    ]
    assert not offenders, offenders


def _under_type_checking(path: Path, wanted: ast.AST) -> bool:
    return any(
        isinstance(node, ast.If)
        and ast.unparse(node.test) == "TYPE_CHECKING"
        and any(ast.dump(child) == ast.dump(wanted) for child in ast.walk(node))
        for node in ast.walk(ast.parse(path.read_text()))
    )


def test_connectors_import_nothing_from_hub() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("connectors")
        if any(name == "hub" or name.startswith("hub.") for name in imports(path))
    ]
    assert not offenders, offenders


# What the dashboard may use of the hub package: the client it speaks to the hub through (the
# notebook's) and the settings every part reads. Nothing of the server, nor the database.
CLIENT_SIDE = ("hub.client", "hub.settings")


def test_the_dashboard_reaches_the_hub_only_through_the_client_package() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files("dashboard")
        for name in sorted(imports(path))
        if name == "duckdb"
        or ((name == "hub" or name.startswith("hub.")) and not name.startswith(CLIENT_SIDE))
    ]
    assert not offenders, f"the dashboard uses hub.client and hub.settings only: {offenders}"


def test_only_the_client_package_speaks_http_to_the_hub_from_the_dashboard() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files("dashboard")
        if "httpx" in imports(path) and path.name != "hub_client.py"
    ]
    assert not offenders, f"send requests through hub.client.transport: {offenders}"


def test_the_client_package_does_not_load_the_server() -> None:
    server = ("hub.store", "hub.services", "hub.api", "hub.http", "hub.app")
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*python_files("hub/client"), ROOT / "hub" / "settings.py"]
        if any(name.startswith(server) for name in imports(path))
    ]
    assert not offenders, offenders


def test_the_architecture_page_names_every_package_and_area() -> None:
    """docs/architecture.md is the map a newcomer reads first: every package of hub/ has its
    row, every area of the services its name."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = [p.name for p in (ROOT / "hub").iterdir() if (p / "__init__.py").is_file()]
    areas = [p.name for p in (ROOT / "hub" / "services").iterdir() if (p / "__init__.py").is_file()]
    missing = [
        f"hub/{name}/" for name in packages if f"`hub/{name}/`" not in text and name != "services"
    ]
    missing += [f"area {name}" for name in areas if f"`{name}`" not in text]
    assert not missing, f"describe these in docs/architecture.md: {missing}"
