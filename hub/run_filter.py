"""The run filter language: parsed into a small tree, never pasted into SQL.

Examples::

    metrics.val_acc > 0.8 and params.lr = '0.01' and tags.team = 'vision'
    status in ('finished', 'running') and not params.optimizer = 'sgd'
    metrics.`val/loss` < 0.5 or name like 'resnet%'

A field is ``metrics.KEY``, ``params.KEY``, ``tags.KEY`` or an attribute (``name``, ``status``,
``user``, ``experiment``, ``experiment_id``, ``started_at``, ``ended_at``, ``id``, ``git_commit``, ``host``, also
written ``attributes.status``). Keys with unusual characters go in backticks. The store compiles
the tree to parameterised SQL (``hub/store/run_search.py``).

The same language filters a dataset's rows: there a field is one of the dataset's columns,
``temperature_c > 40 and line in ('A', 'B')``, with odd names in backticks (``hub/store/datasets.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Literal

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import VisitError

from hub.errors import FilterSyntaxError

Kind = Literal["metric", "param", "tag", "attribute", "column"]
Value = str | float | None | tuple[str | float, ...]

ATTRIBUTES = (
    "name",
    "status",
    "user",
    "experiment",
    "experiment_id",
    "started_at",
    "ended_at",
    "id",
    "git_commit",
    "host",
)
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "is", "is not")
MAX_FILTER_LENGTH = 4000
MAX_COMPARISONS = 64

_PREFIXES: dict[str, Kind] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    key: str

    def __str__(self) -> str:
        return self.key if self.kind == "attribute" else f"{self.kind}s.{self.key}"


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    field: Field
    op: str
    value: Value


@dataclasses.dataclass(frozen=True, slots=True)
class And:
    items: tuple[Filter, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Filter, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Not:
    item: Filter


Filter = Comparison | And | Or | Not


@dataclasses.dataclass(frozen=True, slots=True)
class SortKey:
    field: Field
    descending: bool


_GRAMMAR = r"""
start: expr
?expr: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negate
         | atom
?atom: "(" expr ")"
     | comparison
comparison: field OP value                        -> compare
          | field _IN "(" value ("," value)* ")"  -> in_list
          | field _NOT _IN "(" value ("," value)* ")" -> not_in_list
          | field _LIKE STRING                    -> like
          | field _ILIKE STRING                   -> ilike
          | field _IS _NULL                       -> is_null
          | field _IS _NOT _NULL                  -> is_not_null
field: PREFIXED | BARE | QUOTED
value: NUMBER -> number
     | STRING -> string
sort: field DIRECTION?

_OR.3: /or\b/i
_AND.3: /and\b/i
_NOT.3: /not\b/i
_IN.3: /in\b/i
_IS.3: /is\b/i
_NULL.3: /null\b/i
_LIKE.3: /like\b/i
_ILIKE.3: /ilike\b/i
DIRECTION.3: /(asc|desc)\b/i
OP: "!=" | "<>" | "<=" | ">=" | "==" | "=" | "<" | ">"
PREFIXED.2: /(metrics|metric|params|param|tags|tag|attributes|attribute|attr)\.(`[^`]+`|[A-Za-z0-9_\-\/:.]+)/i
BARE: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED: /`[^`]+`/
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/
%ignore /\s+/
"""

_parser = Lark(_GRAMMAR, start=["start", "sort"], parser="lalr", maybe_placeholders=False)


def _column(token: Token, columns: frozenset[str]) -> Field:
    text = str(token)
    name = text[1:-1] if token.type == "QUOTED" else text
    if token.type == "PREFIXED" or name not in columns:
        shown = ", ".join(sorted(columns)[:20])
        raise FilterSyntaxError(
            f"There is no column {name!r}. Columns: {shown}. Put names with spaces or dots in "
            "backticks, e.g. `unit price` > 3.",
            position=token.start_pos,
        )
    return Field("column", name)


def _field(token: Token) -> Field:
    text = str(token)
    if token.type == "QUOTED":
        raise FilterSyntaxError(
            f"{text} needs a prefix: metrics.{text}, params.{text} or tags.{text}.",
            position=token.start_pos,
        )
    if token.type == "BARE":
        kind: Kind = "attribute"
        key = text
    else:
        prefix, _, key = text.partition(".")
        kind = _PREFIXES[prefix.lower()]
        if key.startswith("`"):
            key = key[1:-1]
    if kind == "attribute" and key.lower() not in ATTRIBUTES:
        raise FilterSyntaxError(
            f"Unknown field {text!r}. Use metrics.NAME, params.NAME, tags.NAME or one of: "
            + ", ".join(ATTRIBUTES)
            + ".",
            position=token.start_pos,
        )
    if kind == "attribute":
        key = key.lower()
    if not key:
        raise FilterSyntaxError(f"Field {text!r} needs a name after the dot.")
    return Field(kind, key)


def _unquote(token: Token) -> str:
    text = str(token)[1:-1]
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


def _node(item: object) -> Filter:
    """A parsed sub-tree; the grammar makes every operand of and/or/not one."""
    if not isinstance(item, Comparison | And | Or | Not):
        raise TypeError(f"{item!r} is not a filter")
    return item


def _operand(item: object) -> str | float:
    """A value the grammar put on the right of an operator: text or a number."""
    if not isinstance(item, str | float):
        raise TypeError(f"{item!r} is not a value")
    return item


def _pattern(item: object) -> str:
    if not isinstance(item, Token):
        raise TypeError(f"{item!r} is not a quoted pattern")
    return _unquote(item)


class _ToTree(Transformer[Token, object]):
    def __init__(self, columns: frozenset[str] | None = None) -> None:
        super().__init__()
        self.columns = columns

    def field(self, items: list[Token]) -> Field:
        if self.columns is not None:
            return _column(items[0], self.columns)
        return _field(items[0])

    def number(self, items: list[Token]) -> float:
        return float(items[0])

    def string(self, items: list[Token]) -> str:
        return _unquote(items[0])

    def compare(self, items: list[object]) -> Comparison:
        field, op, value = items
        assert isinstance(field, Field)
        symbol = {"==": "=", "<>": "!="}.get(str(op), str(op))
        return _checked(Comparison(field, symbol, _operand(value)))

    def in_list(self, items: list[object]) -> Comparison:
        field, *values = items
        assert isinstance(field, Field)
        return _checked(Comparison(field, "in", tuple(_operand(v) for v in values)))

    def not_in_list(self, items: list[object]) -> Comparison:
        field, *values = items
        assert isinstance(field, Field)
        return _checked(Comparison(field, "not in", tuple(_operand(v) for v in values)))

    def like(self, items: list[object]) -> Comparison:
        field, pattern = items
        assert isinstance(field, Field)
        return _checked(Comparison(field, "like", _pattern(pattern)))

    def ilike(self, items: list[object]) -> Comparison:
        field, pattern = items
        assert isinstance(field, Field)
        return _checked(Comparison(field, "ilike", _pattern(pattern)))

    def is_null(self, items: list[object]) -> Comparison:
        assert isinstance(items[0], Field)
        return Comparison(items[0], "is", None)

    def is_not_null(self, items: list[object]) -> Comparison:
        assert isinstance(items[0], Field)
        return Comparison(items[0], "is not", None)

    def negate(self, items: list[object]) -> Not:
        return Not(_node(items[0]))

    def and_expr(self, items: list[object]) -> And:
        return And(tuple(_node(i) for i in items))

    def or_expr(self, items: list[object]) -> Or:
        return Or(tuple(_node(i) for i in items))

    def start(self, items: list[object]) -> object:
        return items[0]

    def sort(self, items: list[object]) -> SortKey:
        field = items[0]
        assert isinstance(field, Field)
        descending = len(items) > 1 and str(items[1]).lower() == "desc"
        return SortKey(field, descending)


def _checked(comparison: Comparison) -> Comparison:
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    if comparison.field.kind == "metric" and not all(isinstance(v, float) for v in values):
        raise FilterSyntaxError(
            f"{comparison.field} is a metric and compares with numbers, "
            f"e.g. {comparison.field} > 0.5."
        )
    if comparison.op in ("like", "ilike") and comparison.field.kind == "metric":
        raise FilterSyntaxError(f"{comparison.field} is a number; 'like' only works on text.")
    return comparison


def _syntax_error(text: str, exc: UnexpectedInput) -> FilterSyntaxError:
    position = getattr(exc, "pos_in_stream", None)
    column = getattr(exc, "column", None)
    where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
    token = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END"):
        detail = "the filter ends too early; a comparison needs a field, an operator and a value"
    elif isinstance(exc, UnexpectedCharacters) and isinstance(position, int):
        detail = f"unexpected character {text[position]!r}"
    else:
        detail = f"unexpected {str(token)!r}" if token else "unexpected input"
    return FilterSyntaxError(
        f"Could not read the filter{where}: {detail}. Example of a valid filter: "
        "metrics.val_acc > 0.8 and params.lr = '0.01' and tags.team = 'vision'.",
        position=position if isinstance(position, int) else None,
    )


def _count(node: Filter) -> int:
    if isinstance(node, Comparison):
        return 1
    if isinstance(node, Not):
        return _count(node.item)
    return sum(_count(item) for item in node.items)


def parse_filter(text: str | None, columns: Iterable[str] | None = None) -> Filter | None:
    """Parse a filter string into a tree; ``None`` or blank text means "no filter". With
    ``columns``, fields are those columns of a dataset instead of run fields."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterSyntaxError(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        known = None if columns is None else frozenset(columns)
        tree = _node(_ToTree(known).transform(_parser.parse(text, start="start")))
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except VisitError as exc:
        raise exc.orig_exc from None
    if _count(tree) > MAX_COMPARISONS:
        raise FilterSyntaxError(f"The filter has more than {MAX_COMPARISONS} comparisons.")
    return tree


def parse_sort(items: list[str] | None) -> list[SortKey]:
    """Parse ``["metrics.val_acc desc", "name"]`` into sort keys."""
    keys: list[SortKey] = []
    for text in items or []:
        try:
            key = _ToTree().transform(_parser.parse(text, start="sort"))
        except UnexpectedInput as exc:
            raise FilterSyntaxError(
                f"Could not read the sort order {text!r}: write a field, then optionally "
                "asc or desc, e.g. 'metrics.val_acc desc'.",
                position=getattr(exc, "pos_in_stream", None),
            ) from None
        except VisitError as exc:
            raise exc.orig_exc from None
        assert isinstance(key, SortKey), "the sort rule makes a sort key"
        keys.append(key)
    if len(keys) > 4:
        raise FilterSyntaxError("Sort by at most 4 fields.")
    return keys
