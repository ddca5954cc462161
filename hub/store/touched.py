"""Which tables a read read and a change changed, so that a change drops only the kept answers
read from the tables it changed (see ``answers``).

A :class:`Recording` cursor stands in for the real one while a kept read or a write runs and
notes the tables of each statement through it:

- a read depends on every table of the hub whose name appears as a word in its SQL (more than
  it reads when a column or alias has a table's name: it is then dropped more often, never
  less);
- a change changed the table an ``INSERT``, ``UPDATE`` or ``DELETE`` names as its target;
  statements that only select change nothing;
- anything else (other statements, several at once, calls on the cursor other than running a
  statement and fetching its rows) counts as everything: every kept answer is dropped, as
  when a change is not recorded at all.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import duckdb

EVERYTHING = None  # what a change of unknown reach changed, or a read of unknown reach read
Tables = frozenset[str] | None  # table names, or EVERYTHING

_RESULTS = frozenset(  # cursor calls that fetch what the last statement answered
    {
        "fetchone",
        "fetchall",
        "fetchmany",
        "fetchnumpy",
        "fetchdf",
        "fetch_df",
        "df",
        "pl",
        "arrow",
        "fetch_arrow_table",
        "fetch_record_batch",
        "description",
        "rowcount",
    }
)
_TARGET = re.compile(
    r"""^\s*(?:INSERT\s+(?:OR\s+(?:REPLACE|IGNORE)\s+)?INTO|UPDATE|DELETE\s+FROM)\s+
        (?P<name>(?:"[^"]+"|\w+)(?:\s*\.\s*(?:"[^"]+"|\w+))*)""",
    re.IGNORECASE | re.VERBOSE,
)
_SELECTS = re.compile(r"^\s*(?:SELECT|FROM|WITH|VALUES)\b", re.IGNORECASE)
_CHANGES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE|COPY|CREATE|ALTER|DROP)\b", re.IGNORECASE)


def _one_statement(sql: str) -> bool:
    return ";" not in sql.strip().rstrip(";")


@functools.lru_cache(maxsize=4096)
def changed_by(sql: str) -> Tables:
    """The table ``sql`` changes (empty if it only selects), or EVERYTHING if it cannot be
    told."""
    if not _one_statement(sql):
        return EVERYTHING
    target = _TARGET.match(sql)
    if target is not None:
        return frozenset({target["name"].split(".")[-1].strip().strip('"').lower()})
    if _SELECTS.match(sql) and not _CHANGES.search(sql):
        return frozenset()
    return EVERYTHING


@functools.lru_cache(maxsize=4096)
def _read_by(sql: str, known: Catalog) -> Tables:
    words = set(re.findall(r"\w+", sql.lower()))
    if words & known.views:  # a view reads tables its name does not say
        return EVERYTHING
    return frozenset(words & known.tables)


class Catalog(NamedTuple):
    """The names of a database's tables and views (lower case)."""

    tables: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()

    @classmethod
    def of(cls, cursor: duckdb.DuckDBPyConnection) -> Catalog:
        tables = cursor.execute("SELECT DISTINCT lower(table_name) FROM duckdb_tables()")
        table_names = frozenset(row[0] for row in tables.fetchall())
        views = cursor.execute(
            "SELECT DISTINCT lower(view_name) FROM duckdb_views() WHERE NOT internal"
        )
        return cls(table_names, frozenset(row[0] for row in views.fetchall()))


class Recording:
    """A cursor that notes the tables of the statements run through it (see the module's
    docstring); everything else is the wrapped cursor's."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, known: Catalog) -> None:
        self.wrapped = cursor
        self.known = known
        # Tables the statements named; nothing is known of a database not yet looked at.
        self.read: Tables = frozenset() if known.tables else EVERYTHING
        self.changed: Tables = frozenset()  # tables the statements changed

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        self._note(sql)
        return self._same(self.wrapped.execute(sql, *args, **kwargs))

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        self._note(sql)
        return self._same(self.wrapped.executemany(sql, *args, **kwargs))

    def noting(self, tables: Iterable[str]) -> duckdb.DuckDBPyConnection:
        """The wrapped cursor, for a call that changes ``tables`` in a way this one cannot
        read (a relation inserted into a table)."""
        if self.changed is not EVERYTHING:
            self.changed = self.changed | frozenset(tables)
        return self.wrapped

    def __getattr__(self, name: str) -> Any:
        if name not in _RESULTS:  # a call whose reach is unknown
            self.read = self.changed = EVERYTHING
        return getattr(self.wrapped, name)

    def _same(self, answer: Any) -> Any:
        return self if answer is self.wrapped else answer

    def _note(self, sql: Any) -> None:
        if not isinstance(sql, str):
            self.read = self.changed = EVERYTHING
            return
        if self.read is not EVERYTHING:
            read = _read_by(sql, self.known)
            self.read = EVERYTHING if read is EVERYTHING else self.read | read
        if self.changed is not EVERYTHING:
            changed = changed_by(sql)
            self.changed = EVERYTHING if changed is EVERYTHING else self.changed | changed
