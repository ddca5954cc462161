"""MLflow's run search syntax, read into Salon's filter tree (``hub.run_filter``).

The two languages share their shape (``metrics.rmse < 0.5 and params.lr = '0.01'``); MLflow
names attributes differently (``attributes.start_time``), writes times as milliseconds and
statuses in capitals. Attribute names are renamed outside quotes before parsing; times and
statuses are rewritten in the tree.
"""

from __future__ import annotations

import dataclasses
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


# Experiment search: MLflow's own small language, ``name LIKE 'vision%' AND tags.team = 'cv'``
# over the name, the creation and update times and the tags, and its order_by.
_CLAUSE = re.compile(
    r"""\s*(?:(?:attributes?|attr)\.)?(?P<field>name|creation_time|last_update_time
        |tags?\.(?:`[^`]+`|"[^"]+"|[\w./:-]+))
        \s*(?P<op>!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bLIKE\b|\bILIKE\b)\s*
        (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class ExperimentView:
    """What an experiment search filters and sorts on."""

    experiment_id: str
    name: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]


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


def _holds(op: str, have: str | int | None, want: str | float) -> bool:
    if have is None:
        return False
    op = " ".join(op.upper().split())
    if op in ("LIKE", "ILIKE", "NOT LIKE"):
        if not isinstance(have, str) or not isinstance(want, str):
            raise FilterSyntaxError(f"{op} compares text with a quoted pattern.")
        found = _like(want, have, op == "ILIKE")
        return not found if op == "NOT LIKE" else found
    if isinstance(have, str) != isinstance(want, str):
        raise FilterSyntaxError("Compare names and tags with quoted text, times with numbers.")
    return _COMPARE[op](have, want)


def experiment_filter(text: str | None) -> Callable[[ExperimentView], bool]:
    """MLflow's experiment ``filter`` as a test of one experiment; FilterSyntaxError (MLflow's
    INVALID_PARAMETER_VALUE) when it does not parse."""
    if not text or not text.strip():
        return lambda view: True
    clauses = []
    for part in _AND.split(text.strip()):
        match = _CLAUSE.match(part)
        if match is None:
            raise FilterSyntaxError(f"Invalid clause(s) in filter string: {part.strip()!r}.")
        field, op, raw = match.group("field"), match.group("op"), match.group("value")
        value: str | float = raw[1:-1] if raw[0] in "'\"" else float(raw)
        if field.lower().startswith("tag"):
            key = field.split(".", 1)[1].strip('`"')
            clauses.append((key, op, value, True))
        else:
            clauses.append((field.lower(), op, value, False))

    def test(view: ExperimentView) -> bool:
        for key, op, value, is_tag in clauses:
            have = view.tags.get(key) if is_tag else getattr(view, key)
            if not _holds(op, have, value):
                return False
        return True

    return test


_ORDER = re.compile(
    r"^\s*(?:(?:attributes?|attr)\.)?(name|creation_time|last_update_time|experiment_id)"
    r"(?:\s+(ASC|DESC))?\s*$",
    re.IGNORECASE,
)


def experiment_order(items: list[str], found: list[ExperimentView]) -> list[ExperimentView]:
    """``found`` in MLflow's ``order_by`` (by default newest first), ties by id as MLflow."""
    keys: list[tuple[str, bool]] = []
    for item in items or ["creation_time DESC", "experiment_id ASC"]:
        match = _ORDER.match(item)
        if match is None:
            raise FilterSyntaxError(f"Invalid order_by clause {item!r}.")
        keys.append((match.group(1).lower(), (match.group(2) or "ASC").upper() == "DESC"))
    if not any(key == "experiment_id" for key, _ in keys):
        keys.append(("experiment_id", True))
    ordered = list(found)
    for key, descending in reversed(keys):  # a stable sort per key, the last key first
        ordered.sort(key=operator.attrgetter(key), reverse=descending)
    return ordered
