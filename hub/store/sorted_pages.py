"""The row numbers of a page of sorted rows, found deep in the order without sorting every row
before the page.

DuckDB finds a page at offset k by keeping and sorting the first k + limit rows: a page in the
middle of ten million rows sorted by one column took about a second. A page that deep is found
in a window of the first sort column's values instead:

1. one scan estimates the column's quantiles from a sample of its values, which say between
   which two values ``low`` and ``high`` the page's rows lie, with a margin;
2. one counts the rows sorted before the window (below ``low``, or above ``high`` sorting down);
3. one sorts the rows whose value lies between the two, and takes the page from them.

A value between the two bounds is sorted after every row counted in step 2 and before every
other row, whatever the other sort columns say, so the page is exact. The estimate only decides
the window's size; when the margin was not enough (the counted rows reach into the page, or the
window ends before it), the page is found by sorting everything, as before.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
from typing import Any

import duckdb

from hub.store.database import Cursor
from hub.store.dataset_diffs import quote

# Below this offset DuckDB's own top-k sort is as quick as the three scans of a window.
WINDOW_FROM = 20_000
SAMPLE = 20_000  # values the quantiles are estimated from
TEXT_SAMPLED = 200  # characters of a text sampled (see ``_quantiles``)
GRID = 200  # the sample's quantiles at every 0.5 %
# Rows added to the window on either side of the page, as a fraction of the column's values:
# four standard errors of a quantile estimated from SAMPLE values (0.35 % at the median).
MARGIN = 0.015
# The estimates of the last KEPT sorts (by files, filter and column), for their next pages: a
# version's objects never change, and an estimate that no longer fits only makes the window miss
# the page (then it is found by sorting everything), never a wrong page.
KEPT = 64
_kept: collections.OrderedDict[tuple[Any, ...], tuple[int, list[Any] | None]] = (
    collections.OrderedDict()
)
_kept_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Sort:
    """The rows of ``source`` matching ``condition`` (with ``params``, the first of which
    ``source`` takes), sorted by ``order_by`` (nulls last, then by row number)."""

    source: str
    condition: str
    params: list[Any]
    order_by: list[tuple[str, bool]]


def sorted_numbers(cur: Cursor, sort: Sort, offset: int, limit: int) -> list[int]:
    """The file row numbers of ``sort``'s rows, ``limit`` from ``offset``."""
    if offset >= WINDOW_FROM and limit > 0:
        try:
            found = window_numbers(cur, sort, offset, limit)
        except (duckdb.InvalidTypeException, duckdb.BinderException, duckdb.ConversionException):
            # DuckDB does not compare lists and structs with >= and <=; a filter comparing a
            # column with a value of another kind fails below as well, and says so.
            found = None
        if found is not None:
            return found
    rows = cur.execute(
        f"SELECT file_row_number FROM {sort.source} WHERE {sort.condition} "
        f"ORDER BY {_order(sort.order_by)} LIMIT {int(limit)} OFFSET {int(offset)}",
        sort.params,
    ).fetchall()
    return [row[0] for row in rows]


def window_numbers(cur: Cursor, sort: Sort, offset: int, limit: int) -> list[int] | None:
    """``sorted_numbers`` found in a window of the first sort column's values; None when the
    window did not hold the page (or the page reaches the rows without a value)."""
    name, descending = sort.order_by[0]
    column = quote(name)
    source, condition, params = sort.source, sort.condition, sort.params
    present, quantiles = _quantiles(cur, sort, column)
    if not quantiles or offset + limit > present:
        return None
    # The page's rows by their rank among the values, counted upwards.
    first = present - offset - limit if descending else offset
    low_at = math.floor((first / present - MARGIN) * GRID)
    high_at = math.ceil(((first + limit) / present + MARGIN) * GRID)
    low = quantiles[low_at] if low_at > 0 else None
    high = quantiles[high_at] if high_at < GRID else None
    edge, beyond = (high, ">") if descending else (low, "<")
    before = 0
    if edge is not None:
        counted = cur.execute(
            f"SELECT count(*) FROM {source} WHERE ({condition}) AND {column} {beyond} ?",
            [*params, edge],
        ).fetchone()
        before = int(counted[0]) if counted else 0
    if before > offset:
        return None
    window, bounds = [f"{column} IS NOT NULL"], []
    for bound, compared in ((low, ">="), (high, "<=")):
        if bound is not None:
            window.append(f"{column} {compared} ?")
            bounds.append(bound)
    rows = cur.execute(
        f"SELECT file_row_number FROM {source} WHERE ({condition}) AND {' AND '.join(window)} "
        f"ORDER BY {_order(sort.order_by)} LIMIT {int(limit)} OFFSET {int(offset - before)}",
        [*params, *bounds],
    ).fetchall()
    return [row[0] for row in rows] if len(rows) == limit else None


def _quantiles(cur: Cursor, sort: Sort, column: str) -> tuple[int, list[Any] | None]:
    """How many matching rows have a value in ``column``, and the values' quantiles at every
    1/GRID, estimated from a sample of SAMPLE of them (None when there are none); kept for the
    next page of the same sort (see ``_kept``)."""
    source, condition, params = sort.source, sort.condition, sort.params
    key = (source, condition, column, *(tuple(p) if isinstance(p, list) else p for p in params))
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    counted = cur.execute(f"SELECT count({column}) FROM {source} WHERE {condition}", params)
    present = counted.fetchone()
    grid = "[" + ", ".join(str(i / GRID) for i in range(GRID + 1)) + "]::DOUBLE[]"
    # DuckDB's ``reservoir_quantile`` is cheaper but samples mostly the first rows it reads:
    # on a column sorted in the file it put every quantile in the first fifth of the values.
    # Texts are sampled by their first characters: any two values make a window that gives the
    # right page, and the sample of a column of long texts would hold SAMPLE of them whole.
    described = cur.execute(f"DESCRIBE SELECT {column} FROM {source}", params[:1]).fetchone()
    text = described is not None and str(described[1]) == "VARCHAR"
    value = f"left({column}, {TEXT_SAMPLED})" if text else column
    sampled = cur.execute(
        f"SELECT quantile_disc(v, {grid}) FROM (SELECT {value} AS v FROM {source} "
        f"WHERE ({condition}) AND {column} IS NOT NULL) USING SAMPLE {SAMPLE} ROWS",
        params,
    ).fetchone()
    found = (int(present[0]) if present else 0), (sampled[0] if sampled else None)
    with _kept_lock:
        _kept[key] = found
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return found


def _order(order_by: list[tuple[str, bool]]) -> str:
    sorted_by = [f"{quote(c)} {'DESC' if desc else 'ASC'} NULLS LAST" for c, desc in order_by]
    return ", ".join([*sorted_by, "file_row_number"])
