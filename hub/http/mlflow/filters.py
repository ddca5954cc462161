"""MLflow's run search syntax, read into Salon's filter tree (``hub.run_filter``).

The two languages share their shape (``metrics.rmse < 0.5 and params.lr = '0.01'``); MLflow
names attributes differently (``attributes.start_time``), writes times as milliseconds and
statuses in capitals. Attribute names are renamed outside quotes before parsing; times and
statuses are rewritten in the tree.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hub.errors import FilterSyntaxError
from hub.run_filter import (
    And,
    Comparison,
    Field,
    Filter,
    Not,
    Or,
    SortKey,
    Value,
    parse_filter,
    parse_sort,
)

RENAMED = {
    "run_name": "name",
    "run_id": "id",
    "user_id": "user",
    "start_time": "started_at",
    "created": "started_at",
    "end_time": "ended_at",
    "status": "status",
    "experiment_id": "experiment_id",
}
_UNQUOTED = re.compile(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`)")
_ATTRIBUTE = re.compile(
    r"\b(?:(?:attributes?|attr|run)\.)?(" + "|".join(RENAMED) + r")\b(?!\s*\.)", re.IGNORECASE
)
_PREFIXED = re.compile(r"\b(metrics?|params?|tags?|datasets?)\.$", re.IGNORECASE)


def _rename(text: str) -> str:
    """Rename MLflow's attributes outside quoted text; keys after ``metrics.`` stay."""
    parts = _UNQUOTED.split(text)
    for index in range(0, len(parts), 2):
        segment = parts[index]

        def swap(match: re.Match[str], segment: str = segment) -> str:
            if _PREFIXED.search(segment[: match.start()]):
                return match.group(0)
            return "attributes." + RENAMED[match.group(1).lower()]

        parts[index] = _ATTRIBUTE.sub(swap, segment)
    return "".join(parts)


def _time(value: Value) -> Value:
    if isinstance(value, tuple):
        return tuple(_instant(v) for v in value)
    return _instant(value)


def _instant(value: str | float | None) -> str:
    """MLflow's milliseconds since 1970 as the ISO time the run filter compares with."""
    if isinstance(value, float):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    raise FilterSyntaxError("Times compare with milliseconds since 1970, e.g. start_time > 0.")


def _status(value: Value) -> Value:
    if isinstance(value, tuple):
        return tuple(v.lower() if isinstance(v, str) else v for v in value)
    return value.lower() if isinstance(value, str) else value


def _rewrite(node: Filter) -> Filter:
    if isinstance(node, And):
        return And(tuple(_rewrite(item) for item in node.items))
    if isinstance(node, Or):
        return Or(tuple(_rewrite(item) for item in node.items))
    if isinstance(node, Not):
        return Not(_rewrite(node.item))
    if node.field.kind == "attribute" and node.value is not None:
        if node.field.key in ("started_at", "ended_at"):
            return Comparison(node.field, node.op, _time(node.value))
        if node.field.key == "status":
            return Comparison(node.field, node.op, _status(node.value))
    return node


def run_filter(text: str | None, experiment_ids: list[str]) -> Filter:
    """The runs of these experiments that match MLflow's ``filter`` text."""
    if text and re.search(r"\bdatasets?\.", text, re.IGNORECASE):
        raise FilterSyntaxError("Salon does not search runs by dataset yet.")
    within = Comparison(Field("attribute", "experiment_id"), "in", tuple(experiment_ids))
    parsed = parse_filter(_rename(text)) if text else None
    return within if parsed is None else And((within, _rewrite(parsed)))


def run_order(items: list[str]) -> list[SortKey]:
    """MLflow's ``order_by`` (``metrics.rmse DESC``), then newest first unless it ordered by
    start time, then by run id, as MLflow's server orders: runs that tie come in the same
    order from both."""
    keys = parse_sort([_rename(item) for item in items])
    if not any(k.field == Field("attribute", "started_at") for k in keys):
        keys.append(SortKey(Field("attribute", "started_at"), descending=True))
    return keys
