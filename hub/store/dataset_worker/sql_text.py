"""SQL text the dataset worker builds its queries from: names and texts quoted, and values an
aggregate skips. Like the worker, it imports only the standard library."""

from __future__ import annotations


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as an SQL string. The worker passes DuckDB no Python parameters: the first
    one imports pandas, numpy and pyarrow (0.3 s of every upload)."""
    return "'" + text.replace("'", "''") + "'"


def finite(q: str) -> str:
    """The column ``q`` as a double where it is finite, else NULL (see ``unless``)."""
    return unless(f"isfinite({q}::DOUBLE)", f"{q}::DOUBLE")


def unless(condition: str, value: str) -> str:
    """``value`` where ``condition`` holds, else NULL: what an aggregate skips. Used instead
    of an aggregate's FILTER, which DuckDB pays for with a copy of every column the query reads
    (450 filtered histograms of 5,000 rows took 3 s; these, 0.5 s)."""
    return f"CASE WHEN {condition} THEN {value} END"
