"""Compile a run filter tree (``hub.run_filter``) into parameterised SQL and run it.

Only column names from fixed tables are written into the SQL text; every user-supplied value,
key included, travels as a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.errors import FilterSyntaxError
from hub.run_filter import And, Comparison, Field, Filter, Not, Or, SortKey
from hub.store.database import Cursor
from hub.store.records import RunPage
from hub.store.run_rows import RUN_COLUMNS, run_from_row

_ATTRIBUTE_COLUMNS = {
    "name": "r.name",
    "status": "r.status",
    "user": "r.user_name",
    "experiment": "e.name",
    "started_at": "r.started_at",
    "ended_at": "r.ended_at",
    "id": "r.id",
    "git_commit": "r.git_commit",
    "host": "r.host",
}
_TIME_ATTRIBUTES = ("started_at", "ended_at")
_SQL_OPS = {
    "=": "=",
    "!=": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "like": "LIKE",
    "ilike": "ILIKE",
}


def _attribute_value(field: Field, value: object) -> object:
    if field.key in _TIME_ATTRIBUTES:
        if not isinstance(value, str):
            raise FilterSyntaxError(f"{field} compares with a date, e.g. {field} > '2026-01-31'.")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FilterSyntaxError(
                f"{value!r} is not a date; write it as '2026-01-31' or '2026-01-31 14:00'."
            ) from None
        return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed
    return value if isinstance(value, str) else _number_text(value)


def _number_text(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _compare(column: str, op: str, value: object, params: list[Any]) -> str:
    if op in ("in", "not in"):
        assert isinstance(value, tuple)
        params.extend(value)
        marks = ", ".join("?" for _ in value)
        return f"{column} {'NOT IN' if op == 'not in' else 'IN'} ({marks})"
    params.append(value)
    return f"{column} {_SQL_OPS[op]} ?"


def _text_or_number(value: object) -> tuple[str, str]:
    """(column expression over ``x.value``, kind) for params and tags compared with a value."""
    values = value if isinstance(value, tuple) else (value,)
    if values and all(isinstance(v, float) for v in values):
        return "TRY_CAST(x.value AS DOUBLE)", "number"
    return "x.value", "text"


def _key_value(table: str, node: Comparison, params: list[Any]) -> str:
    params.append(node.field.key)
    base = f"SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?"
    if node.op == "is":
        return f"NOT EXISTS ({base})"
    if node.op == "is not":
        return f"EXISTS ({base})"
    column, kind = _text_or_number(node.value)
    value = node.value
    if kind == "text" and isinstance(value, tuple):
        value = tuple(v if isinstance(v, str) else _number_text(v) for v in value)
    return f"EXISTS ({base} AND {_compare(column, node.op, value, params)})"


def _comparison(node: Comparison, params: list[Any]) -> str:
    kind = node.field.kind
    if kind == "metric":
        if node.op in ("is", "is not"):
            params.append(node.field.key)
            exists = "EXISTS (SELECT 1 FROM metric_summaries m WHERE m.run_id = r.id AND m.key = ?)"
            return f"NOT {exists}" if node.op == "is" else exists
        params.append(node.field.key)
        condition = _compare("m.last_value", node.op, node.value, params)
        return (
            "EXISTS (SELECT 1 FROM metric_summaries m WHERE m.run_id = r.id AND m.key = ? "
            f"AND {condition})"
        )
    if kind == "param":
        return _key_value("params", node, params)
    if kind == "tag":
        return _key_value("tags", node, params)
    column = _ATTRIBUTE_COLUMNS[node.field.key]
    if node.op == "is":
        return f"{column} IS NULL"
    if node.op == "is not":
        return f"{column} IS NOT NULL"
    if isinstance(node.value, tuple):
        value: object = tuple(_attribute_value(node.field, v) for v in node.value)
    else:
        value = _attribute_value(node.field, node.value)
    return _compare(column, node.op, value, params)


def compile_filter(node: Filter, params: list[Any]) -> str:
    """SQL condition over runs ``r`` (joined to experiments ``e``); values go to ``params``."""
    if isinstance(node, Comparison):
        return _comparison(node, params)
    if isinstance(node, Not):
        return f"NOT ({compile_filter(node.item, params)})"
    joiner = " AND " if isinstance(node, And) else " OR "
    assert isinstance(node, And | Or)
    return "(" + joiner.join(compile_filter(item, params) for item in node.items) + ")"


def _sort_terms(key: SortKey, params: list[Any]) -> list[str]:
    direction = "DESC" if key.descending else "ASC"
    field = key.field
    if field.kind == "attribute":
        return [f"{_ATTRIBUTE_COLUMNS[field.key]} {direction} NULLS LAST"]
    if field.kind == "metric":
        params.append(field.key)
        return [
            "(SELECT m.last_value FROM metric_summaries m WHERE m.run_id = r.id AND m.key = ? "
            f"LIMIT 1) {direction} NULLS LAST"
        ]
    table = "params" if field.kind == "param" else "tags"
    value = f"(SELECT x.value FROM {table} x WHERE x.run_id = r.id AND x.key = ? LIMIT 1)"
    params.extend([field.key, field.key])
    # Numbers sort as numbers; text that is not a number sorts after them, as text.
    return [
        f"TRY_CAST({value} AS DOUBLE) {direction} NULLS LAST",
        f"{value} {direction} NULLS LAST",
    ]


def search_runs(
    cur: Cursor,
    project_ids: list[str],
    where: Filter | None,
    order_by: list[SortKey],
    limit: int,
    offset: int,
) -> RunPage:
    """One page of runs, newest first unless ``order_by`` says otherwise."""
    params: list[Any] = [project_ids]
    condition = "r.project_id IN (SELECT unnest(?))"
    if where is not None:
        condition += " AND " + compile_filter(where, params)
    source = f"FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE {condition}"
    total_row = cur.execute(f"SELECT count(*) {source}", params).fetchone()
    total = int(total_row[0]) if total_row else 0

    sort_params: list[Any] = []
    orders = [term for key in order_by for term in _sort_terms(key, sort_params)]
    orders.append("r.started_at DESC" if not order_by else "r.id")
    orders.append("r.id DESC")
    rows = cur.execute(
        f"SELECT {RUN_COLUMNS} {source} ORDER BY {', '.join(orders)} LIMIT ? OFFSET ?",
        [*params, *sort_params, limit, offset],
    ).fetchall()
    next_offset = offset + len(rows)
    return RunPage(
        runs=[run_from_row(row) for row in rows],
        total=total,
        next_cursor=str(next_offset) if next_offset < total else None,
    )
