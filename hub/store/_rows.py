"""Records to rows and back. DuckDB keeps naive UTC timestamps; everything above the store sees
aware UTC datetimes. Structures (tags, a policy, a dataset's schema) are JSON in their column
and typed values in their record: encoded on the way in, decoded once on the way out."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from hub.domain.data import Column
from hub.domain.registry import CheckSpec, Policy

R = TypeVar("R")
Decoders = Mapping[str, Callable[[Any], Any]]


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def to_naive(value: datetime | None) -> datetime | None:
    """Aware → naive UTC for storage."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def record_of(kind: type[R], row: Sequence[Any], decoders: Decoders | None = None) -> R:
    """A frozen record from a row, datetimes as aware UTC; ``decoders`` turn the named fields'
    column values (JSON text) into their types."""
    values = [to_utc(v) if isinstance(v, datetime) else v for v in row]
    if decoders:
        for i, field in enumerate(dataclasses.fields(cast(Any, kind))):
            if field.name in decoders:
                values[i] = decoders[field.name](values[i])
    return kind(*values)


def row_of(record: Any) -> list[Any]:
    """A frozen record's field values in order: a row to insert. Datetimes become naive UTC;
    mappings, records and tuples JSON text (a list stays a list: a DuckDB list column)."""
    return [_stored(getattr(record, f.name)) for f in dataclasses.fields(record)]


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_naive(value)
    if isinstance(value, Mapping | tuple) or dataclasses.is_dataclass(value):
        return encoded(value)
    return value


def encoded(value: Any) -> str:
    """A structure as the JSON text its column keeps (keys sorted: equal values, equal text)."""
    return json.dumps(value, default=_plain, sort_keys=True)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not stored as JSON")


def among(values: Sequence[Any]) -> str:
    """``(?, ?, ?)``: one parameter per value, for ``col IN {among(values)}`` with the values
    spread in the parameters. On PostgreSQL, DuckDB hands such a list to PostgreSQL, which
    answers by index; ``IN (SELECT unnest(?))`` would read the whole table. No values: ``(NULL)``,
    which nothing is in."""
    return "(" + ", ".join("?" * len(values)) + ")" if values else "(NULL)"


# Up to this many values, DuckDB checks ``IN (?, ?, ?)`` as a filter inside the table's scan;
# from one more, it joins the scan against the values, as it does against one list parameter.
FEW = 4


def one_of(column: str, values: Sequence[Any], listed: bool) -> tuple[str, list[Any]]:
    """``column IN (...)`` and its parameters. ``listed`` (a DuckDB file): more than ``FEW``
    values as one list parameter, which DuckDB joins against, twice as fast as a parameter each
    for 100 ids (2.4 against 4.6 ms). ``FEW`` values or fewer (three runs' curves, one run's
    page) are a parameter each, which DuckDB checks in the scan: half the CPU of the join
    (three runs by id of 300: 1.3 against 2.6 ms; of 100,000: 1.0 against 2.1 ms). Otherwise
    a parameter each (see :func:`among`), which PostgreSQL answers by index."""
    if listed and len(values) > FEW:
        return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [list(values)]
    return f"{column} IN {among(values)}", list(values)


def qualified(columns: str, table: str) -> str:
    """``a, b`` as ``t.a, t.b``: a table's column list in a query that joins others."""
    return ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))


def insert_rows(cursor: Any, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """Rows into ``table`` in one statement, whatever their number: a list parameter per
    column, unnested side by side (``executemany`` costs a statement per row in DuckDB, which
    is most of the time of a transaction writing hundreds of audit events)."""
    if not rows:
        return
    if len(rows) == 1:
        marks = ", ".join("?" * len(rows[0]))
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(rows[0]))
        return
    lists = [list(column) for column in zip(*rows, strict=True)]
    unnested = ", ".join(["unnest(?)"] * len(lists))
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {unnested}", lists)


def affected(cursor: Any, statement: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
    """How many rows an UPDATE or DELETE changed (both backends answer it; a PostgreSQL table
    takes no RETURNING clause through DuckDB)."""
    row = cursor.execute(statement, params).fetchone()
    return int(row[0]) if row else 0


def mapping_of(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def columns_of(text: str | None) -> tuple[Column, ...] | None:
    """Columns from ``[{"name", "type"}]``; None stays None (no schema given)."""
    return None if text is None else tuple(Column(c["name"], c["type"]) for c in json.loads(text))


def schema_of(text: str) -> tuple[Column, ...]:
    return columns_of(text) or ()


@functools.lru_cache(maxsize=4096)
def spec_of(text: str) -> CheckSpec:
    """A check's spec from its JSON (each distinct one parsed once)."""
    return CheckSpec(**json.loads(text))


@functools.lru_cache(maxsize=1024)
def policy_of(text: str | None) -> Policy:
    """A policy from its JSON, the default policy when there is none (versions share a few
    policies: each is parsed once)."""
    if not text:
        return Policy()
    raw = json.loads(text)
    return Policy(
        tuple(raw.get("protected") or ()),
        tuple(CheckSpec(**c) for c in raw.get("checks") or ()),
        int(raw.get("approvals") or 0),
        raw.get("approver_group"),
        raw.get("auto_move"),
    )
