"""A data file's column profiles, for the dataset worker (see ``__main__``): counts, extremes,
distinct values, mean and spread over every row, then quartiles, histograms and top values over
every row or a fixed sample of them. Like the worker, it imports only DuckDB, the standard
library and this folder's ``histograms`` and ``sql_text``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

if TYPE_CHECKING:
    from hub.store.dataset_worker.histograms import bin_counts, edges, histogram
    from hub.store.dataset_worker.sql_text import finite, literal, quote, unless
else:  # run as the worker's script (see its __main__): this folder is first on sys.path
    from histograms import bin_counts, edges, histogram
    from sql_text import finite, literal, quote, unless

T = TypeVar("T")

TOP_VALUES = 5
TEXT_KEPT = 1_000  # characters of a text a profile keeps (smallest, largest, top values)
MAX_TOP_DISTINCT = 100_000  # top values of an almost unique column say nothing
# Quartiles, histograms and top values are counted over every row, or over a fixed sample of
# the rows when there are more: at most SAMPLED_VALUES numbers (quartiles hold them in memory),
# all numeric columns together, and between MIN_ and MAX_SAMPLE_ROWS rows, taken as
# SAMPLE_BLOCKS runs of neighbouring rows spread evenly over the file. Reading the sample costs
# about the same whatever its size (its pages are decompressed whole); the quartiles of 15
# numeric columns of 10M rows took 1.33 s over 8 million numbers and 0.64 s over 2 million,
# whose 133,000 rows put a quartile within 0.15 % of the rows of the exact one (one standard
# error).
SAMPLED_VALUES = 2_000_000
MIN_SAMPLE_ROWS = 10_000
MAX_SAMPLE_ROWS = 1_000_000
SAMPLE_BLOCKS = 400
# Distinct values are estimated from the values whose hash falls in one of DISTINCT_SLOTS
# slots (a value always falls in the same slot, wherever its rows are), multiplied back: within
# a few percent past 50,000 values, where DuckDB's approx_count_distinct is 4-10 % low. A
# column with fewer than EXACT_BELOW values in that slot (some 6,400 in all) is then counted
# exactly. Values are counted by their 64-bit hash (the chance of two of 10,000 values sharing
# one is about 3 in a trillion), so a column of long texts holds eight bytes a value.
DISTINCT_SLOTS = 64  # a power of two: a hash is in the slot when its low bits are all 0
SLOT_MASK = DISTINCT_SLOTS - 1
EXACT_BELOW = 100
# A query over every row or the sample aggregates at most COLUMNS_PER_QUERY columns: each
# aggregate holds memory of its own (a distinct count a few megabytes, whatever it counts), and
# 2,000 columns in one query ran out of the worker's memory.
COLUMNS_PER_QUERY = 40
# In a file of few rows for its columns (no scan a column, see OWN_SCAN_ROWS), distinct values
# are counted in long form: each value's hash beside its column's number, grouped. One
# grouping holds all the distinct values of its columns, where a distinct count a column holds
# a table of its own. For a file of 1,000 rows x 2,000 columns, the exact count of the columns
# with few values took 0.44-0.55 s, against 1.09-1.16 s for a distinct count a column, 40 a
# query; on another day, the values in the slot of the others (see DISTINCT_SLOTS) 0.17 s,
# against about 1 s in the batches' queries of _shape_of (1.4 s with their other figures,
# 0.36 s without), and for 60,000 rows x 768 floats 0.8 s against 1.4 s. A query takes as many
# columns as keep at most LONG_FORM_PAIRS distinct pairs (columns with few values have fewer
# than some 6,400 each; in the slot, a 64th of the rows), and at most LONG_FORM_COLUMNS.
LONG_FORM_PAIRS = 1_300_000
LONG_FORM_COLUMNS = 200
# A column's distinct values are counted in a scan of its own, which keeps only the slot's
# values, when the file has at least OWN_SCAN_ROWS rows for each of its columns: in long form,
# every value passes through the one grouping (20 columns of 2M rows: 0.47 s in scans of
# their own, 0.87 s in long form), but each scan is planned over the file's whole schema (a
# 2,000-column file of 2,000 rows would take several times longer). Counted in the batch's
# query, as they once were, every value out of the slot reached its count as a NULL (the
# bench's 20 columns of 10M rows: 2.1 s, against 0.9 s a scan each).
OWN_SCAN_ROWS = 1_000
# A column's mean and spread come from two sums in its scan, of each value's distance to the
# middle of the column's range (from the footer) and of its square: DuckDB's avg and
# stddev_samp cost a division a value (15 numeric columns of 10M rows: about 0.3 s more). The
# spread's variance is the mean square less the squared mean; rounding errs by about
# (mean square / variance) times the sums' own error (a few parts in 10^13 for 10M values), so
# where that ratio passes SUMS_TRUSTED_UP_TO (values far from the middle for their spread: a
# few extreme outliers) or the sums are not finite (NaN, infinities), the column's mean and
# spread are counted again with avg and stddev_samp over its finite values (see
# _mean_and_spread).
SUMS_TRUSTED_UP_TO = 10_000.0
# A column of whole numbers whose range (from the footer) spans at most NARROW_RANGE numbers
# has at most that many distinct values: they are counted exactly in the column's scan, which
# costs less than the slot's estimate and spares a second count (500 values in 10M rows: 24 ms
# against 40 ms for the estimate, then the exact count's own scan).
NARROW_RANGE = 65_536
ROW_NUMBER = "file_row_number"
NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


def _is_numeric(kind: str) -> bool:
    return kind.split("(")[0] in NUMERIC


def _narrow(column: dict[str, str], ranges: dict[str, tuple[float, float]]) -> bool:
    """Whether ``column`` holds whole numbers within NARROW_RANGE of each other."""
    kind, extremes = column["type"].split("(")[0], ranges.get(column["name"])
    whole = kind in NUMERIC and kind not in ("FLOAT", "DOUBLE", "DECIMAL")
    return whole and extremes is not None and extremes[1] - extremes[0] < NARROW_RANGE


def _in_footer(kind: str) -> bool:
    """Whether DuckDB answers count, min and max of this type from the Parquet footer."""
    return _is_numeric(kind) or kind.startswith(("DATE", "TIME"))


def profile(
    con: duckdb.DuckDBPyConnection,
    path: str,
    data: str,
    columns: list[dict[str, str]],
    rows: int,
    numbered: bool,
) -> dict[str, Any]:
    """Every column's profile in three passes over the data, whatever the number of columns:
    counts and extremes of numbers and times, and of texts where it holds them exactly, from
    the Parquet footer; then, over every row, those of the other columns, distinct values, mean
    and spread; then quartiles, histograms of numbers and the value counts of columns with few
    distinct values (top values), over every row or a fixed sample of them (see ``_sample``).
    ``path``: the Parquet file; ``data``: what every query reads from (the file's
    ``read_parquet(…)``); ``numbered``: it has DuckDB's ``file_row_number`` (no sample without
    it)."""
    profile: dict[str, Any] = {c["name"]: {"type": c["type"]} for c in columns}
    _text_extremes(con, path, [c["name"] for c in columns if c["type"] == "VARCHAR"], profile, rows)
    ranges = _extremes(con, data, [c for c in columns if _in_footer(c["type"])], profile, rows)
    _shape(con, data, columns, profile, ranges, rows)
    _distributions(con, data, columns, profile, ranges, _sample(columns, rows) if numbered else "")
    return profile


def _extremes_of(q: str) -> list[str]:
    """The non-null count, smallest and largest value (as text) of a column."""
    return [f"count({q})", f"min({q})::VARCHAR", f"max({q})::VARCHAR"]


def _note_extremes(item: dict[str, Any], values: Iterator[Any], rows: int) -> None:
    """Take what ``_extremes_of`` asked for from ``values`` into a column's profile."""
    present, low, high = next(values), next(values), next(values)
    if low == "-0.0":  # other writers' footers say -0.0 for a smallest 0 (Parquet's rule)
        low = "0.0"
    item.update(
        nulls=rows - int(present),
        min=None if low is None else low[:TEXT_KEPT],
        max=None if high is None else high[:TEXT_KEPT],
    )


def _text_extremes(
    con: duckdb.DuckDBPyConnection, path: str, names: list[str], profile: dict[str, Any], rows: int
) -> None:
    """Nulls, smallest and largest text of the text columns ``names`` from the Parquet footer,
    where every row group's statistics hold them and say they are exact (pyarrow leaves out a
    text past 4 KB, DuckDB cuts it at 256 characters and says so): DuckDB does not answer a
    text's min and max from the footer itself, and a scan's count, min and max of the bench's
    four text columns of 10M rows took 0.37 s, the footer 6 ms. Both compare texts byte by
    byte. A column not answered here gets its figures from the pass over every row."""
    if not names:
        return
    found = con.execute(
        f"SELECT path_in_schema, sum(num_values) = {int(rows)}"
        " AND count(*) = count(DISTINCT row_group_id)"
        " AND count(stats_null_count) = count(*)"
        " AND bool_and(coalesce(stats_null_count = num_values OR (min_is_exact AND max_is_exact"
        " AND stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL), false)),"
        " sum(stats_null_count), min(stats_min_value), max(stats_max_value) "
        f"FROM parquet_metadata({literal(path)}) "
        f"WHERE type = 'BYTE_ARRAY' AND path_in_schema IN ({', '.join(map(literal, names))}) "
        "GROUP BY path_in_schema"
    ).fetchall()
    for name, exact, nulls, low, high in found:
        if exact:
            _note_extremes(profile[name], iter((rows - int(nulls), low, high)), rows)


def _extremes(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    rows: int,
) -> dict[str, tuple[float, float]]:
    """Nulls, minimum and maximum of numbers and times, and the range of every numeric column.
    DuckDB answers these from the footer's statistics when every aggregate of a query can be,
    so they are asked apart from the rest (see ``_shape``)."""
    ranges: dict[str, tuple[float, float]] = {}
    if not columns:
        return ranges
    parts: list[str] = []
    for column in columns:
        q = quote(column["name"])
        parts += _extremes_of(q)
        if _is_numeric(column["type"]):
            parts += [f"min({q})::DOUBLE", f"max({q})::DOUBLE"]
    found = con.execute(f"SELECT {', '.join(parts)} FROM {data}").fetchone()
    assert found is not None
    values = iter(found)
    for column in columns:
        _note_extremes(profile[column["name"]], values, rows)
        if _is_numeric(column["type"]):
            low, high = next(values), next(values)
            if low is not None and high is not None:
                ranges[column["name"]] = (low, high)
    unbounded = [name for name, extremes in ranges.items() if not all(map(math.isfinite, extremes))]
    if unbounded:
        _finite_ranges(con, data, unbounded, ranges)
    return ranges


def _finite_ranges(
    con: duckdb.DuckDBPyConnection,
    data: str,
    names: list[str],
    ranges: dict[str, tuple[float, float]],
) -> None:
    """The range of the finite values of the columns ``names``, whose range reaches NaN (which
    DuckDB orders above every number) or an infinity: the range a histogram's bins cover and
    whose middle the sums of a mean and spread start from. A column without a finite value
    has none."""
    parts = []
    for q in map(quote, names):
        parts += [f"min({finite(q)})", f"max({finite(q)})"]
    found = con.execute(f"SELECT {', '.join(parts)} FROM {data}").fetchone()
    assert found is not None
    values = iter(found)
    for name in names:
        low, high = next(values), next(values)
        if low is None or high is None:
            del ranges[name]
        else:
            ranges[name] = (low, high)


def _shape(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    ranges: dict[str, tuple[float, float]],
    rows: int,
) -> None:
    """Over every row: nulls, minimum and maximum of the columns the footer does not answer,
    distinct values of all (estimated, then counted exactly where there are few, see
    DISTINCT_SLOTS), and the mean and spread of numbers (see SUMS_TRUSTED_UP_TO);
    COLUMNS_PER_QUERY columns a query, or in a file of few rows for its columns, their
    distinct values apart, in long form (see LONG_FORM_PAIRS)."""
    narrow = {c["name"] for c in columns if _narrow(c, ranges)}
    own_scans = _own_scans(rows, len(columns))
    counted: dict[str, int] = {}  # the values in the slot, or every value of a narrow column
    for batch in _batches(columns):
        counted |= _shape_of(con, data, batch, profile, ranges, rows, narrow, own_scans)
    if not own_scans:
        estimated = [c["name"] for c in columns if c["name"] not in narrow]
        counted |= _count_distinct_in_long_form(con, data, estimated, rows, in_slot=True)
    few = [
        name
        for name, count in counted.items()
        if _note_distinct(profile[name], count, rows, name in narrow)
    ]
    if own_scans:
        exact = _count_distinct(con, data, few)
    else:
        exact = _count_distinct_in_long_form(con, data, few, rows, in_slot=False)
    for name, count in exact.items():
        profile[name]["distinct"] = count
    untrusted = [
        c["name"] for c in columns if _is_numeric(c["type"]) and "mean" not in profile[c["name"]]
    ]
    _mean_and_spread(con, data, untrusted, profile)


def _batches(items: list[T], size: int = COLUMNS_PER_QUERY) -> Iterator[list[T]]:
    """``items`` ``size`` at a time (COLUMNS_PER_QUERY unless said)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shape_of(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    ranges: dict[str, tuple[float, float]],
    rows: int,
    narrow: set[str],
    own_scans: bool,
) -> dict[str, int]:
    """``_shape`` for some columns in one query; returns the distinct values it counted of
    each column: every value of a narrow one, those in the slot of the others (see
    DISTINCT_SLOTS). Each column's figures come from a scan of its own or, in a file of few
    rows for its columns (not ``own_scans``), from one scan of them all, whose distinct values
    are counted apart but for the narrow ones' (see LONG_FORM_PAIRS)."""
    inner: list[str] = []  # column i as c{i}, its hash as h{i}: no name of the file's can clash
    parts: list[str] = []
    unknown: set[str] = set()  # columns whose nulls and extremes are counted here
    middles = {c["name"]: _middle(ranges.get(c["name"])) for c in columns}
    for i, column in enumerate(columns):
        q, value, hashed = quote(column["name"]), f"c{i}", f"h{i}"
        figures: list[str] = []
        # A null's hash (every null's the same) is not in the slot (its low bits are 57 in
        # DuckDB 1.5); were it, it would add one to the slot: within the estimate's error.
        # A value out of the slot is filtered out in a column's own scan.
        if column["name"] in narrow:  # counted exactly (see NARROW_RANGE)
            figures.append(f"count(DISTINCT {value})")
        elif own_scans:
            figures.append(f"count(DISTINCT {hashed}) FILTER (WHERE {hashed} & {SLOT_MASK} = 0)")
        if "nulls" not in profile[column["name"]]:  # not answered by the footer
            figures += _extremes_of(value)
            unknown.add(column["name"])
        if _is_numeric(column["type"]):
            away = f"({value}::DOUBLE - {middles[column['name']]!r}::DOUBLE)"
            figures += [f"sum({away})", f"sum({away} * {away})"]
        if not figures:
            continue
        columns_read = f"{q} AS {value}"
        if column["name"] not in narrow and own_scans:
            columns_read += f", hash({q}) AS {hashed}"
        if own_scans:  # one scan a column reads its pages once: they are decoded a column apart
            fields = ", ".join(f"'f{j}': {figure}" for j, figure in enumerate(figures))
            inner.append(f"(SELECT {{{fields}}} FROM (SELECT {columns_read} FROM {data})) AS s{i}")
            parts += [f"s{i}.f{j}" for j in range(len(figures))]
        else:
            inner.append(columns_read)
            parts += figures
    if not parts:
        return {}
    rows_read = "" if own_scans else f" FROM {data}"
    query = f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(inner)}{rows_read})"
    found = con.execute(query).fetchone()
    assert found is not None
    values = iter(found)
    counted: dict[str, int] = {}
    for column in columns:
        item = profile[column["name"]]
        if own_scans or column["name"] in narrow:  # its distinct values are counted here
            counted[column["name"]] = int(next(values))
        if column["name"] in unknown:
            _note_extremes(item, values, rows)
        if _is_numeric(column["type"]):
            count = rows - item["nulls"]
            moments = _moments(next(values), next(values), count, middles[column["name"]])
            if moments is not None:  # else counted again (see SUMS_TRUSTED_UP_TO)
                item["mean"], item["std"] = moments
    return counted


def _note_distinct(item: dict[str, Any], counted: int, rows: int, narrow: bool) -> bool:
    """Note a column's distinct values from those ``_shape_of`` counted (every value of a
    narrow column, or those in the slot); returns whether they are few, to be counted
    exactly."""
    if narrow:
        item["distinct"] = counted
        return False
    # an estimate from the values in the slot: kept plausible
    item["distinct"] = min(counted * DISTINCT_SLOTS, rows - item["nulls"])
    if counted < EXACT_BELOW:
        return True
    item["distinct_estimated"] = True  # said, so that nobody takes it for a count
    return False


def _middle(extremes: tuple[float, float] | None) -> float:
    """The middle of a column's range, from which its values' distances are summed (0 when
    the range has no finite middle: the sums are then not finite either, or the column holds
    no number)."""
    if extremes is None:
        return 0.0
    middle = extremes[0] / 2 + extremes[1] / 2
    return middle if math.isfinite(middle) else 0.0


def _moments(
    total: float | None, squares: float | None, count: int, middle: float
) -> tuple[float | None, float | None] | None:
    """The mean and sample standard deviation of ``count`` values from the sums of their
    distances to ``middle`` and of those distances' squares, as avg and stddev_samp give
    them (None for no value, and a spread of None for one); None when the sums cannot be
    trusted (see SUMS_TRUSTED_UP_TO)."""
    if count == 0:
        return None, None
    if total is None or squares is None or not (math.isfinite(total) and math.isfinite(squares)):
        return None
    mean = middle + total / count
    if count == 1:
        return mean, None
    variance = (squares - total * total / count) / (count - 1)
    if squares == 0:  # every value is the middle
        return mean, 0.0
    if variance <= 0 or squares / count > SUMS_TRUSTED_UP_TO * variance:
        return None
    return mean, math.sqrt(variance)


def _mean_and_spread(
    con: duckdb.DuckDBPyConnection, data: str, names: list[str], profile: dict[str, Any]
) -> None:
    """The mean and spread of the numeric columns ``names`` by avg and stddev_samp over their
    finite values, a query each: for the columns whose sums could not be trusted (see
    SUMS_TRUSTED_UP_TO). NaN and infinities are left out, as from histograms (stddev_samp
    refuses them); values whose squares pass a double's range get no figures at all."""
    for name in names:
        values = finite(quote(name))
        try:
            found = con.execute(f"SELECT avg({values}), stddev_samp({values}) FROM {data}")
            figures = found.fetchone() or (None, None)
        except duckdb.OutOfRangeException:
            figures = (None, None)
        profile[name]["mean"], profile[name]["std"] = figures


def _own_scans(rows: int, width: int) -> bool:
    """Whether a file of ``rows`` rows and ``width`` columns has its distinct values counted
    in a scan of each column's own (see OWN_SCAN_ROWS)."""
    return rows >= OWN_SCAN_ROWS * width


def _count_distinct(con: duckdb.DuckDBPyConnection, data: str, names: list[str]) -> dict[str, int]:
    """The exact number of distinct values of the columns ``names`` (few values each), nulls
    left out, in a scan of each column's own (in a file of few rows for its columns, see
    ``_count_distinct_in_long_form``)."""
    counts: dict[str, int] = {}
    for batch in _batches(names):
        parts = [
            f"(SELECT count(DISTINCT hash({q})) FROM {data} WHERE {q} IS NOT NULL)"
            for q in map(quote, batch)
        ]
        found = con.execute(f"SELECT {', '.join(parts)}").fetchone()
        assert found is not None
        counts.update(zip(batch, map(int, found), strict=True))
    return counts


def _count_distinct_in_long_form(
    con: duckdb.DuckDBPyConnection, data: str, names: list[str], rows: int, in_slot: bool
) -> dict[str, int]:
    """The distinct values of the columns ``names``, nulls left out: all of them (the columns
    have few), or those in the slot (see DISTINCT_SLOTS). Every value's hash beside its
    column's number, its distinct pairs counted by column, as many columns a query as keep
    at most LONG_FORM_PAIRS pairs."""
    if in_slot:
        kept, per_column = f" WHERE value & {SLOT_MASK} = 0", -(-rows // DISTINCT_SLOTS)
    else:
        kept, per_column = "", min(rows, EXACT_BELOW * DISTINCT_SLOTS)
    size = max(1, min(LONG_FORM_COLUMNS, LONG_FORM_PAIRS // max(1, per_column)))

    def hashed(q: str) -> str:  # a null's hash is not in the slot (see _shape_of)
        return f"hash({q})" if in_slot else unless(f"{q} IS NOT NULL", f"hash({q})")

    counts: dict[str, int] = {}
    for batch in _batches(names, size):
        values = ", ".join(f"{hashed(q)} AS c{i}" for i, q in enumerate(map(quote, batch)))
        unpivoted = ", ".join(f"c{i}" for i in range(len(batch)))
        found = dict(  # by column ("col": "slot" is the hash's, above)
            con.execute(
                "SELECT col, count(*) FROM (SELECT DISTINCT col, value FROM "
                f"(UNPIVOT (SELECT {values} FROM {data}) ON {unpivoted} INTO NAME col VALUE value)"
                f"{kept}) GROUP BY col"
            ).fetchall()
        )
        counts.update((name, int(found.get(f"c{i}", 0))) for i, name in enumerate(batch))
    return counts


def _sample(columns: list[dict[str, str]], rows: int) -> str:
    """The condition that picks the sample's rows, or "" when every row is counted: runs of
    neighbouring rows (DuckDB skips the rest without decoding them) spread evenly over the
    file, so the same file always gives the same profile."""
    numeric = sum(1 for c in columns if _is_numeric(c["type"]))
    wanted = SAMPLED_VALUES // max(1, numeric)
    sample_rows = min(MAX_SAMPLE_ROWS, max(MIN_SAMPLE_ROWS, wanted))
    if rows <= sample_rows:
        return ""
    period = -(-rows // SAMPLE_BLOCKS)
    block = max(1, sample_rows // SAMPLE_BLOCKS)
    # each run in the middle of its stretch: sorted data gives quartiles near the exact ones
    shift = period - (period - block) // 2
    return f"({ROW_NUMBER} + {shift}) % {period} < {block}"


def _distributions(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    ranges: dict[str, tuple[float, float]],
    sample: str,
) -> None:
    """Quartiles and histograms of numbers over their range, and the most frequent values of
    columns with few distinct values, counted over the rows ``sample`` picks (every row when
    it is empty); a column profiled over a sample says how many rows it had (``sample_rows``)."""
    numbers = [c["name"] for c in columns if _is_numeric(c["type"])]
    tops = [
        c["name"]
        for c in columns
        if profile[c["name"]]["distinct"] <= MAX_TOP_DISTINCT
        and not c["type"].startswith(("FLOAT", "DOUBLE"))
    ]
    where = f" WHERE {sample}" if sample else ""
    for batch in _batches(numbers):
        _spread(con, data, batch, where, profile, ranges)
    for batch in _batches(tops):
        _top_values(con, data, batch, where, profile)
    if sample and (numbers or tops):
        found = con.execute(f"SELECT count(*) FROM {data}{where}").fetchone()  # row numbers only
        for name in {*numbers, *tops}:
            profile[name]["sample_rows"] = int(found[0]) if found else 0


def _spread(
    con: duckdb.DuckDBPyConnection,
    data: str,
    names: list[str],
    where: str,
    profile: dict[str, Any],
    ranges: dict[str, tuple[float, float]],
) -> None:
    """Quartiles and histograms of the numeric columns ``names`` over the rows ``where``
    picks, in one query."""
    wanted: list[tuple[str, str]] = []  # column, what
    expressions: list[str] = []
    for name in names:
        q = quote(name)
        wanted.append((name, "quantiles"))
        counted = q
        if profile[name]["type"].startswith(("FLOAT", "DOUBLE")):  # finite values, as binned
            counted = unless(f"isfinite({q})", q)
        expressions.append(f"quantile_cont({counted}, [0.25, 0.5, 0.75])::DOUBLE[]")
        if name in ranges:
            wanted.append((name, "histogram"))
            expressions.append(histogram(q, *ranges[name]))
    found = con.execute(f"SELECT {', '.join(expressions)} FROM {data}{where}").fetchone()
    assert found is not None
    for (name, what), result in zip(wanted, found, strict=True):
        if what == "quantiles":
            profile[name]["quantiles"] = result
        else:
            bounds = edges(*ranges[name])
            profile[name]["histogram"] = {
                "edges": bounds,
                "counts": bin_counts(bounds, result or {}),
            }


def _top_values(
    con: duckdb.DuckDBPyConnection, data: str, names: list[str], where: str, profile: dict[str, Any]
) -> None:
    """The TOP_VALUES most frequent values (as text, cut at TEXT_KEPT characters; ties by that
    text) of the columns ``names`` over the rows ``where`` picks. One grouping of every
    column's values together, by hash: DuckDB's histogram() per column took 9 s for 450
    columns of 5,000 values (5,000 rows), and grouping by the values themselves held every
    long text in memory."""
    texts = ", ".join(f"{quote(name)}::VARCHAR AS c{i}" for i, name in enumerate(names))
    slots = ", ".join(f"c{i}" for i in range(len(names)))
    found = con.execute(
        f"SELECT slot, any_value(left(value, {TEXT_KEPT})) AS shown, hash(value) AS h, "
        "count(*) AS n "
        f"FROM (UNPIVOT (SELECT {texts} FROM {data}{where}) ON {slots} INTO NAME slot VALUE value) "
        "GROUP BY slot, h "
        f"QUALIFY row_number() OVER (PARTITION BY slot ORDER BY n DESC, shown, h) <= {TOP_VALUES} "
        "ORDER BY slot, n DESC, shown, h"
    ).fetchall()
    for name in names:
        profile[name]["top"] = []
    for slot, value, _, count in found:
        profile[names[int(slot[1:])]]["top"].append({"value": value, "count": int(count)})
