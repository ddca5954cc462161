"""MLflow's run search syntax, read into Salon's filter tree (``hub.run_filter``).

The two languages share their shape (``metrics.rmse < 0.5 and params.lr = '0.01'``); MLflow
names attributes differently (``attributes.start_time``), writes times as milliseconds and
statuses in capitals. Attribute names are renamed outside quotes before parsing; times and
statuses are rewritten in the tree.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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


# Experiment and model version search: MLflow's small language of ``AND``-joined comparisons,
# ``name LIKE 'vision%' AND tags.team = 'cv'``, over a few attributes and the tags, and its
# ``order_by``. Salon holds these lists in memory (they are short), so it tests each item.
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_OP = r"!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bLIKE\b|\bILIKE\b|\bIN\b"
_TEXT = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_VALUE = rf"{_TEXT}|-?\d+(?:\.\d+)?|\(\s*(?:{_TEXT})(?:\s*,\s*(?:{_TEXT}))*\s*\)"


@dataclasses.dataclass(frozen=True, slots=True)
class View:
    """What a search filters and sorts one item on: its attributes, tags, params and
    metrics (``tags.team``, ``params.lr``, ``metrics.accuracy`` in a filter)."""

    values: dict[str, str | int]
    tags: dict[str, str]
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)

    def named(self, prefix: str, key: str) -> str | float | None:
        kind = prefix.lower().rstrip("s")
        if kind == "tag":
            return self.tags.get(key)
        if kind == "param":
            return self.params.get(key)
        return self.metrics.get(key)


def _like(pattern: str, value: str, ignore_case: bool) -> bool:
    expression = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern
    )
    return re.fullmatch(expression, value, re.IGNORECASE if ignore_case else 0) is not None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _holds(op: str, have: str | float | None, want: str | float | tuple[str, ...]) -> bool:
    if have is None:
        return False
    op = " ".join(op.upper().split())
    if op == "IN":
        return isinstance(want, tuple) and have in want
    if isinstance(want, tuple):
        raise FilterSyntaxError("A list of values goes with IN only.")
    if op in ("LIKE", "ILIKE", "NOT LIKE"):
        if not isinstance(have, str) or not isinstance(want, str):
            raise FilterSyntaxError(f"{op} compares text with a quoted pattern.")
        found = _like(want, have, op == "ILIKE")
        return not found if op == "NOT LIKE" else found
    if isinstance(have, str) != isinstance(want, str):
        raise FilterSyntaxError("Compare names and tags with quoted text, numbers with numbers.")
    return _COMPARE[op](have, want)


def _value(raw: str) -> str | float | tuple[str, ...]:
    if raw.startswith("("):
        return tuple(item[1:-1] for item in re.findall(_TEXT, raw))
    return raw[1:-1] if raw[0] in "'\"" else float(raw)


def view_filter(text: str | None, attributes: tuple[str, ...]) -> Callable[[View], bool]:
    """MLflow's search ``filter`` over these attributes and the tags, as a test of one item;
    FilterSyntaxError (MLflow's INVALID_PARAMETER_VALUE) when it does not parse."""
    if not text or not text.strip():
        return lambda view: True
    clause = re.compile(
        rf"""\s*(?:(?:attributes?|attr)\.)?(?P<field>{"|".join(attributes)}
            |(?:tags?|params?|metrics?)\.(?:`[^`]+`|"[^"]+"|[\w./:-]+))
            \s*(?P<op>{_OP})\s*(?P<value>{_VALUE})\s*$""",
        re.IGNORECASE | re.VERBOSE,
    )
    clauses = []
    for part in _AND.split(text.strip()):
        match = clause.match(part)
        if match is None:
            raise FilterSyntaxError(f"Invalid clause(s) in filter string: {part.strip()!r}.")
        field, op = match.group("field"), match.group("op")
        value = _value(match.group("value"))
        prefix, dot, key = field.partition(".")
        if dot and prefix.lower() not in ("attribute", "attributes", "attr"):
            clauses.append((prefix, key.strip('`"'), op, value))
        else:
            clauses.append(("", field.lower(), op, value))

    def test(view: View) -> bool:
        return all(
            _holds(op, view.named(prefix, key) if prefix else view.values.get(key), value)
            for prefix, key, op, value in clauses
        )

    return test


def view_order(
    items: list[str],
    default: list[str],
    ties: list[str],
    found: list[View],
    attributes: tuple[str, ...],
) -> list[View]:
    """``found`` in MLflow's ``order_by`` over ``attributes`` (``default`` when there is
    none), then by those of ``ties`` it did not name, as MLflow's server breaks ties."""
    pattern = re.compile(
        rf"^\s*(?:(?:attributes?|attr)\.)?({'|'.join(sorted(attributes))})(?:\s+(ASC|DESC))?\s*$",
        re.IGNORECASE,
    )

    def keys_of(clauses: list[str]) -> list[tuple[str, bool]]:
        keys = []
        for item in clauses:
            match = pattern.match(item)
            if match is None:
                raise FilterSyntaxError(f"Invalid order_by clause {item!r}.")
            keys.append((match.group(1).lower(), (match.group(2) or "ASC").upper() == "DESC"))
        return keys

    keys = keys_of(items or default)
    keys += [tie for tie in keys_of(ties) if tie[0] not in {key for key, _ in keys}]
    ordered = list(found)
    for key, descending in reversed(keys):  # a stable sort per key, the last key first
        ordered.sort(key=functools.partial(_sort_value, key), reverse=descending)
    return ordered


def _sort_value(key: str, view: View) -> str | int:
    return view.values[key]
