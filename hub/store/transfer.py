"""Moving a hub's tables from its DuckDB file into another database (``salon db copy``): every
table row for row, the audit chain included, so that the copy verifies as the original did."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.errors import InvalidInput
from hub.store import migrations
from hub.store.backends import CATALOG
from hub.store.database import Cursor

SOURCE = "salon_source"


def _tables(cur: Cursor, catalog: str) -> list[str]:
    rows = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY table_name",
        [catalog],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _columns(cur: Cursor, catalog: str, table: str) -> list[str]:
    rows = cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
        "ORDER BY column_index",
        [catalog, table],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _count(cur: Cursor, table: str) -> int:
    row = cur.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


def check(cur: Cursor, source: Path) -> None:
    """Refuse a copy between different schemas, or into a database that holds a Salon."""
    found = migrations.status_of_file(source)
    target = migrations.status(cur)
    if found.applied != target.applied:
        raise InvalidInput(
            f"{source} is at migration {found.current:03d} and the target at "
            f"{target.current:03d}: upgrade the file first (`salon db upgrade` with the hub "
            "stopped), with the same Salon."
        )
    if migrations.has_data(cur) and _count(cur, "audit_events"):
        raise InvalidInput("The target database already holds a Salon: copy into an empty one.")


def attach(cur: Cursor, source: Path) -> None:
    literal = str(source).replace("'", "''")
    cur.execute(f"ATTACH '{literal}' AS {SOURCE} (READ_ONLY)")


def detach(cur: Cursor) -> None:
    cur.execute(f"DETACH {SOURCE}")


def fill(
    cur: Cursor,
    progress: Callable[[str, int], None],
    copy_points: Callable[[Cursor, str], int],
) -> list[tuple[str, int]]:
    """Copy every table of the attached source into the database ``cur`` writes to, in the
    caller's transaction, the metric points with ``copy_points`` (``Database.copy_points``:
    into a shared database's DuckLake); (table, rows) in the order copied."""
    here = cur.execute("SELECT current_database()").fetchone()
    catalog = str(here[0]) if here else CATALOG
    wanted = [t for t in _tables(cur, SOURCE) if t != "schema_migrations"]
    missing = sorted(set(wanted) - set(_tables(cur, catalog)) - {"metrics"})
    if missing:
        raise InvalidInput(f"The target has no table {', '.join(missing)}.")
    copied: list[tuple[str, int]] = []
    for table in wanted:
        if table == "metrics":
            copied.append((table, copy_points(cur, f"{SOURCE}.main.metrics")))
            progress(*copied[-1])
            continue
        columns = ", ".join(f'"{c}"' for c in _columns(cur, SOURCE, table))
        cur.execute(f'DELETE FROM "{table}"')  # what a first start wrote, if anything
        cur.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM {SOURCE}.main."{table}"'
        )
        copied.append((table, _count(cur, table)))
        progress(*copied[-1])
    return copied


def export(cur: Cursor, target: str) -> list[tuple[str, int]]:
    """Copy every table a shared database's hubs read (PostgreSQL's, and the points in the
    DuckLake) into the attached DuckDB file ``target``, which has Salon's schema already:
    the caller's one transaction reads one snapshot and writes only the file."""
    copied: list[tuple[str, int]] = []
    for table in _tables(cur, target):
        if table == "schema_migrations":  # the file has its own, from its migrations
            continue
        columns = ", ".join(f'"{c}"' for c in _columns(cur, target, table))
        into = f'{target}.main."{table}"'
        cur.execute(f'INSERT INTO {into} ({columns}) SELECT {columns} FROM "{table}"')
        found = cur.execute(f"SELECT count(*) FROM {into}").fetchone()
        copied.append((table, int(found[0]) if found else 0))
    return copied
