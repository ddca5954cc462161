"""What changed between two dataset versions, row by row, worked out in SQL."""

from __future__ import annotations

from hub.store.database import Cursor


def quote(name: str) -> str:
    """A column name as a SQL identifier (names are checked against the schema first)."""
    return '"' + name.replace('"', '""') + '"'


def key_changes(
    cur: Cursor, before: list[str], after: list[str], key: str, compared: list[str]
) -> tuple[int, int, int, int]:
    """Rows added, removed and changed (in any of the ``compared`` columns) between two
    versions matched by ``key``, and how many key values repeat (which blurs "changed").

    One full join of (key, hash of the compared values) per side: DuckDB materialises a CTE
    used more than once, so joining whole rows copied both versions (every compared column)
    into memory up to the limit and then to disk. Nested values are hashed as JSON (a NULL
    list and an empty one hash alike). Two rows whose 64-bit hashes collide count as unchanged."""
    k = quote(key)
    types = dict(
        cur.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [after],
        ).fetchall()
    )
    nested = ("[", "STRUCT", "MAP", "UNION")
    values = ", ".join(
        f"to_json({quote(c)})" if any(n in types.get(c, "") for n in nested) else quote(c)
        for c in compared
    )
    side = f"SELECT {k} AS k, hash({values or 'NULL'}) AS h FROM read_parquet(?)"
    row = cur.execute(
        f"""SELECT count(*) FILTER (WHERE b.h IS NULL), count(*) FILTER (WHERE a.h IS NULL),
                   count(*) FILTER (WHERE b.h <> a.h)
            FROM ({side}) b FULL OUTER JOIN ({side}) a ON b.k = a.k""",
        [before, after],
    ).fetchone()
    repeated = cur.execute(
        f"SELECT (SELECT count(*) - count(DISTINCT {k}) FROM read_parquet(?)) "
        f"+ (SELECT count(*) - count(DISTINCT {k}) FROM read_parquet(?))",
        [before, after],
    ).fetchone()
    assert row is not None and repeated is not None
    return int(row[0]), int(row[1]), int(row[2]), int(repeated[0])
