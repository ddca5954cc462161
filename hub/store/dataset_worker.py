"""Reads an uploaded data file in a process of its own and writes it as Parquet with a profile.

DuckDB trusts the files it reads; Salon does not. So uploads are parsed here, in a child
process the hub starts with a memory limit (``RLIMIT_AS``), a limit on what it may write
(``RLIMIT_FSIZE``) and a time limit: a corrupt file, a decompression bomb or a CSV with a
gigantic line costs this process, never the hub. It prints one JSON line: the result, or
``{"error": ...}`` with a message a person can act on (exit status 2).

    python -I hub/store/dataset_worker.py INPUT (csv|parquet) OUTPUT.parquet < OPTIONS.json

INPUT may be an ``s3://`` address; the options on stdin then name the httpfs extension file
to load and the ``CREATE SECRET`` statement that gives the S3 keys (kept off the command line,
which other users of the machine can read). ``rewrite`` in the options says whether OUTPUT is
written: ``always`` (the default), ``when needed`` (a Parquet file that reads well, see
KEPT_ROW_GROUP_ROWS, is kept as it came and only profiled) or ``never`` (profile only: data
registered where it lies). The result's ``kept`` says which. A file kept has had every page of
every column decoded here (the profile's pass over every row) before the hub reads it. It runs
as a plain script, importing nothing from Salon: only DuckDB and the standard library.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")

MAX_COLUMNS = 2000
MAX_LINE_BYTES = 1_000_000
TOP_VALUES = 5
TEXT_KEPT = 1_000  # characters of a text a profile keeps (smallest, largest, top values)
MAX_TOP_DISTINCT = 100_000  # top values of an almost unique column say nothing
BINS = 10
# Quartiles, histograms and top values are counted over every row, or over a fixed sample of
# the rows when there are more: at most SAMPLED_VALUES numbers (quartiles hold them in memory),
# all numeric columns together, and between MIN_ and MAX_SAMPLE_ROWS rows, taken as
# SAMPLE_BLOCKS runs of neighbouring rows spread evenly over the file.
SAMPLED_VALUES = 8_000_000
MIN_SAMPLE_ROWS = 10_000
MAX_SAMPLE_ROWS = 1_000_000
SAMPLE_BLOCKS = 400
# A Parquet upload is kept as it came (rather than written again) when it reads well: row
# groups of at most pyarrow's default (bigger ones make a page's rows slow to find) and, but
# for the last, of at least MIN_KEPT_ROW_GROUP_ROWS, and a footer (parsed by every read of the
# version) of at most KEPT_FOOTER_BYTES.
KEPT_ROW_GROUP_ROWS = 1_048_576
MIN_KEPT_ROW_GROUP_ROWS = 10_000
KEPT_FOOTER_BYTES = 16 * 1024 * 1024
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
# A column's distinct values are counted in a scan of its own, which keeps only the slot's
# values, when the file has at least OWN_SCAN_ROWS rows for each of its columns: counted in the
# batch's query, every other value reaches the count as a NULL first (the bench's 20 columns
# of 10M rows: 2.1 s, against 0.9 s a scan each), but each scan is planned over the file's
# whole schema (a 2,000-column file of 2,000 rows would take several times longer).
OWN_SCAN_ROWS = 1_000
# A file of more columns is read and written on one thread: a second gained nothing on 150 to
# 2,000 columns (a 2,000-column CSV: 5.9 s on one, 5.4 on two) and holds buffers of its own for
# every column (that CSV ran out of memory once in a full test run).
WRITTEN_WIDE = 100
REWRITES = ("always", "when needed", "never")
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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """``text`` as an SQL string. The worker passes DuckDB no Python parameters: the first
    one imports pandas, numpy and pyarrow (0.3 s of every upload)."""
    return "'" + text.replace("'", "''") + "'"


def _source(con: duckdb.DuckDBPyConnection, path: str, kind: str) -> duckdb.DuckDBPyRelation:
    """The file as a relation, once its width is known to be acceptable: binding a very wide
    file costs minutes (Parquet) or more memory than an upload may use (CSV), so the width is
    read first from the Parquet footer or the CSV header."""
    if kind == "parquet":
        _check_width(_parquet_width(con, path))
        return con.read_parquet(path)
    _check_width(len(_csv_header(path)))
    sniffing = f"sample_size = 20480, max_line_size = {MAX_LINE_BYTES}"
    options = f"header = true, {sniffing}"
    sniffed = con.execute(
        f"SELECT Delimiter, Quote FROM sniff_csv({_literal(path)}, {sniffing})"
    ).fetchone()
    if sniffed is None or sniffed[1] != "(empty)":
        return con.sql(f"FROM read_csv({_literal(path)}, {options})")
    # The sniffer gives up on quotes when one is never closed, and then reads the quote and
    # everything after it as text. Reading with quotes as RFC 4180 has them tells the two apart:
    # a file without quoted values reads the same, and one with an unclosed quote is refused.
    try:
        return con.sql(
            f"FROM read_csv({_literal(path)}, {options}, quote = '\"', "
            f"delim = {_literal(sniffed[0])})"
        )
    except duckdb.InvalidInputException:
        raise ValueError(
            'A quoted value is never closed: a " opens a value and no " ends it, so the rows '
            'after it cannot be told apart. Close the quote (write "" for a quote inside a '
            "quoted value) and upload again."
        ) from None


def _parquet_width(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """The number of top-level columns, from the footer's schema root."""
    row = con.execute(
        f"SELECT num_children FROM parquet_schema({_literal(path)}) LIMIT 1"
    ).fetchone()
    return int(row[0] or 0) if row else 0


def _check_width(columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise ValueError(f"The file has {columns} columns; at most {MAX_COLUMNS} are accepted.")


def _csv_header(path: str) -> list[str]:
    """The header as written (DuckDB renames repeated names, which would hide a mistake)."""
    with open(path, "rb") as handle:
        first = handle.read(MAX_LINE_BYTES).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        return []
    return next(csv.reader([first], dialect), [])


def _is_numeric(kind: str) -> bool:
    return kind.split("(")[0] in NUMERIC


def _in_footer(kind: str) -> bool:
    """Whether DuckDB answers count, min and max of this type from the Parquet footer."""
    return _is_numeric(kind) or kind.startswith(("DATE", "TIME"))


def _profile(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    rows: int,
    numbered: bool,
) -> dict[str, Any]:
    """Every column's profile in three passes over the data, whatever the number of columns:
    counts and extremes of numbers and times from the Parquet footer; then, over every row,
    those of the other columns, distinct values, mean and spread; then quartiles, histograms of
    numbers and the value counts of columns with few distinct values (top values), over every
    row or a fixed sample of them (see ``_sample``). ``data``: what every query reads from
    (the file's ``read_parquet(…)``); ``numbered``: it has DuckDB's ``file_row_number`` (no
    sample without it)."""
    profile: dict[str, Any] = {c["name"]: {"type": c["type"]} for c in columns}
    ranges = _extremes(con, data, [c for c in columns if _in_footer(c["type"])], profile, rows)
    _shape(con, data, columns, profile, rows)
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
        q = _quote(column["name"])
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
    return ranges


def _shape(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    rows: int,
) -> None:
    """Over every row: nulls, minimum and maximum of the columns the footer does not answer,
    distinct values of all (estimated, then counted exactly where there are few, see
    DISTINCT_SLOTS), and the mean and spread of numbers; COLUMNS_PER_QUERY columns a query."""
    few: list[str] = []  # columns with few distinct values
    for batch in _batches(columns):
        few += _shape_of(con, data, batch, profile, rows)
    for name, count in _count_distinct(con, data, few, rows, len(columns)).items():
        profile[name]["distinct"] = count


def _batches(items: list[T]) -> Iterator[list[T]]:
    """``items`` COLUMNS_PER_QUERY at a time."""
    for start in range(0, len(items), COLUMNS_PER_QUERY):
        yield items[start : start + COLUMNS_PER_QUERY]


def _shape_of(
    con: duckdb.DuckDBPyConnection,
    data: str,
    columns: list[dict[str, str]],
    profile: dict[str, Any],
    rows: int,
) -> list[str]:
    """``_shape`` for some columns in one query; returns those with few distinct values. The
    values in the distinct counts' slot are picked in a scan of each column's own or, in a
    file of few rows for its columns, inside the query (see OWN_SCAN_ROWS)."""
    own_scan = _own_scans(rows, len(profile))
    inner: list[str] = []  # column i as c{i}, its hash as h{i}: no name of the file's can clash
    parts: list[str] = []
    aggregated = not own_scan  # whether the query aggregates rows (else: subqueries alone)
    for i, column in enumerate(columns):
        q, value, hashed = _quote(column["name"]), f"c{i}", f"h{i}"
        inner.append(f"{q} AS {value}")
        # A null's hash (every null's the same) is not in the slot (its low bits are 57 in
        # DuckDB 1.5); were it, it would add one to the slot: within the estimate's error.
        in_slot = f"{hashed} & {SLOT_MASK} = 0"
        if own_scan:
            parts.append(
                f"(SELECT count(DISTINCT {hashed}) FROM (SELECT hash({q}) AS {hashed} "
                f"FROM {data}) WHERE {in_slot})"
            )
        else:
            inner.append(f"hash({q}) AS {hashed}")
            parts.append(f"count(DISTINCT {_unless(in_slot, hashed)})")
        if not _in_footer(column["type"]):
            parts += _extremes_of(value)
            aggregated = True
        if _is_numeric(column["type"]):
            parts += [f"avg({value})::DOUBLE", f"stddev_samp({value})::DOUBLE"]
            aggregated = True
    rows_read = f" FROM (SELECT {', '.join(inner)} FROM {data})" if aggregated else ""
    found = con.execute(f"SELECT {', '.join(parts)}{rows_read}").fetchone()
    assert found is not None
    values = iter(found)
    few: list[str] = []
    for column in columns:
        item = profile[column["name"]]
        in_slot_count = int(next(values))
        if not _in_footer(column["type"]):
            _note_extremes(item, values, rows)
        # an estimate: keep it plausible
        item["distinct"] = min(in_slot_count * DISTINCT_SLOTS, rows - item["nulls"])
        if in_slot_count < EXACT_BELOW:
            few.append(column["name"])
        else:  # said, so that nobody takes it for a count
            item["distinct_estimated"] = True
        if _is_numeric(column["type"]):
            item["mean"], item["std"] = next(values), next(values)
    return few


def _own_scans(rows: int, width: int) -> bool:
    """Whether a file of ``rows`` rows and ``width`` columns has its distinct values counted
    in a scan of each column's own (see OWN_SCAN_ROWS)."""
    return rows >= OWN_SCAN_ROWS * width


def _count_distinct(
    con: duckdb.DuckDBPyConnection, data: str, names: list[str], rows: int, width: int
) -> dict[str, int]:
    """The exact number of distinct values of the columns ``names`` (few values each), nulls
    left out, in a scan of each column's own or in one query (as in ``_shape_of``)."""
    counts: dict[str, int] = {}
    for batch in _batches(names):
        if _own_scans(rows, width):
            parts = [
                f"(SELECT count(DISTINCT hash({q})) FROM {data} WHERE {q} IS NOT NULL)"
                for q in map(_quote, batch)
            ]
            found = con.execute(f"SELECT {', '.join(parts)}").fetchone()
        else:
            parts = [
                f"count(DISTINCT {_unless(f'{q} IS NOT NULL', f'hash({q})')})"
                for q in map(_quote, batch)
            ]
            found = con.execute(f"SELECT {', '.join(parts)} FROM {data}").fetchone()
        assert found is not None
        counts.update(zip(batch, map(int, found), strict=True))
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
        q = _quote(name)
        wanted.append((name, "quantiles"))
        expressions.append(f"quantile_cont({q}, [0.25, 0.5, 0.75])::DOUBLE[]")
        if name in ranges:
            wanted.append((name, "histogram"))
            expressions.append(_histogram(q, *ranges[name]))
    found = con.execute(f"SELECT {', '.join(expressions)} FROM {data}{where}").fetchone()
    assert found is not None
    for (name, what), result in zip(wanted, found, strict=True):
        if what == "quantiles":
            profile[name]["quantiles"] = result
        else:
            edges = _edges(*ranges[name])
            profile[name]["histogram"] = {
                "edges": edges,
                "counts": _bin_counts(edges, result or {}),
            }


def _top_values(
    con: duckdb.DuckDBPyConnection, data: str, names: list[str], where: str, profile: dict[str, Any]
) -> None:
    """The TOP_VALUES most frequent values (as text, cut at TEXT_KEPT characters; ties by that
    text) of the columns ``names`` over the rows ``where`` picks. One grouping of every
    column's values together, by hash: DuckDB's histogram() per column took 9 s for 450
    columns of 5,000 values (5,000 rows), and grouping by the values themselves held every
    long text in memory."""
    texts = ", ".join(f"{_quote(name)}::VARCHAR AS c{i}" for i, name in enumerate(names))
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


def _width(low: float, high: float) -> float:
    """The width of each of BINS bins from ``low`` to ``high`` (1 when they are equal)."""
    return (high - low) / BINS or 1.0


def _edges(low: float, high: float) -> list[float]:
    """The edges of BINS bins of equal width from ``low`` to ``high``."""
    width = _width(low, high)
    return [low + width * i for i in range(BINS + 1)]


def _separate(edges: list[float]) -> bool:
    """Whether the bins' lower edges are distinct doubles (a range narrower than a double's
    precision at its size is not)."""
    lows = edges[:BINS]
    return all(a < b for a, b in itertools.pairwise(lows))


def _histogram(q: str, low: float, high: float) -> str:
    """How many finite values fall in each bin: [e0, e1), [e1, e2), ..., [e9, e10].

    DuckDB's histogram with boundaries counts the values in (b(i-1), b(i)], faster than one
    with a bin number per value; counting the negated values against the negated lower edges
    gives bins closed on the left, as numpy's (every value lies at or above the first edge, so
    the last bin is closed on both sides). NaN and infinities become NULL, which is not
    counted (see ``_unless``)."""
    edges = _edges(low, high)
    if _separate(edges):
        # 17 significant digits in exponent form: read as the same double (not as a decimal)
        boundaries = ", ".join(f"{-edge:.16e}" for edge in reversed(edges[:BINS]))
        negated = _unless(f"isfinite({q}::DOUBLE)", f"-({q}::DOUBLE)")
        return f"histogram({negated}, [{boundaries}]::DOUBLE[])"
    bucket = f"least(floor(({q}::DOUBLE - {low!r}) / {_width(low, high)!r})::INTEGER, {BINS - 1})"
    return f"histogram({_unless(f'isfinite({q}::DOUBLE)', bucket)})"


def _unless(condition: str, value: str) -> str:
    """``value`` where ``condition`` holds, else NULL: what an aggregate skips. Used instead
    of an aggregate's FILTER, which DuckDB pays for with a copy of every column the query reads
    (450 filtered histograms of 5,000 rows took 3 s; these, 0.5 s)."""
    return f"CASE WHEN {condition} THEN {value} END"


def _bin_counts(edges: list[float], counts: dict[Any, int]) -> list[int]:
    """Each bin's count from the map ``_histogram`` gives: keyed by the negated lower edges
    (every one present, in ascending order: the last bin first), or by bin number."""
    if _separate(edges) and len(counts) == BINS:
        return [int(counts[key]) for key in sorted(counts, reverse=True)]
    return [int(counts.get(i, 0)) for i in range(BINS)]


def _fits(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    """Whether the Parquet file reads well enough to keep as it came (see KEPT_ROW_GROUP_ROWS)."""
    with open(path, "rb") as handle:  # the file ends with its footer's length and PAR1
        handle.seek(-8, os.SEEK_END)
        footer = int.from_bytes(handle.read(4), "little")
    if footer > KEPT_FOOTER_BYTES:
        return False
    sizes = [
        int(rows)
        for _, rows in con.execute(
            "SELECT DISTINCT row_group_id, row_group_num_rows "
            f"FROM parquet_metadata({_literal(path)}) ORDER BY row_group_id"
        ).fetchall()
    ]
    return all(rows <= KEPT_ROW_GROUP_ROWS for rows in sizes) and all(
        rows >= MIN_KEPT_ROW_GROUP_ROWS for rows in sizes[:-1]
    )


def convert(
    source: str, kind: str, target: str, options: dict[str, str], memory_limit: str = ""
) -> dict[str, Any]:
    """Read ``source`` (csv or parquet), write it to ``target`` as Parquet unless it is kept
    as it came (``rewrite`` in ``options``, see the module's help), and profile it."""
    rewrite = options.get("rewrite", "always")
    if rewrite not in REWRITES:
        raise ValueError(f"rewrite is one of {', '.join(REWRITES)}, not {rewrite!r}.")
    cores = min(2, os.cpu_count() or 1)
    settings: dict[str, str | bool | int | float | list[str]] = {
        # Both cores read, write and profile. The same data still gives the same Parquet bytes
        # (DuckDB writes rows in order, in row groups of a fixed size): 1 to 4 threads wrote
        # the same bytes from a 357 MB CSV, a CSV of quoted texts, nulls and times, and Parquet
        # in small row groups.
        "threads": cores,
        "memory_limit": memory_limit or _memory_limit(),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(config=settings)
    con.execute("SET parquet_metadata_cache = true")  # each query would parse the footer again
    if "extension" in options:
        con.execute(f"LOAD '{options['extension']}'")
        con.execute(options["secret"])
    relation = _source(con, source, kind)
    names = relation.columns
    _check_width(len(names))  # a header that did not parse, or a sniffed delimiter
    header = [name.strip() for name in _csv_header(source)] if kind == "csv" else names
    repeated = sorted({name for name in header if header.count(name) > 1})
    if len(set(names)) != len(names) or repeated:
        raise ValueError(
            f"Two columns have the same name ({', '.join(repeated) or 'see the header'}); "
            "give every column its own."
        )
    # A file read from S3 is profiled from a local copy: one download, not one per pass.
    kept = kind == "parquet" and "://" not in source and rewrite != "always"
    kept = kept and (rewrite == "never" or _fits(con, source))
    if not kept:
        if len(names) > WRITTEN_WIDE:
            con.execute("SET threads = 1")
        relation.write_parquet(target, compression="zstd", row_group_size=100_000)
        con.execute(f"SET threads = {cores}")
    path = source if kept else target
    # Rows are numbered (DuckDB's file_row_number) to sample them, unless a column has that name.
    numbered = ROW_NUMBER not in names
    # The file's table function rather than a view: DuckDB binds a view's every column again
    # for each query (15 ms a query of a 2,000-column file, against 1 ms this way).
    numbering = ", file_row_number = true" if numbered else ""
    data = f"read_parquet({_literal(path)}{numbering})"
    columns = [
        {"name": row[0], "type": str(row[1])}
        for row in con.execute(f"DESCRIBE SELECT * FROM {data}").fetchall()
        if row[0] != ROW_NUMBER or not numbered
    ]
    count = con.execute(f"SELECT count(*) FROM {data}").fetchone()
    rows = int(count[0]) if count else 0
    return {
        "rows": rows,
        "schema": columns,
        "profile": _profile(con, data, columns, rows, numbered),
        "bytes": Path(path).stat().st_size,
        "kept": kept,
    }


def _memory_limit() -> str:
    """DuckDB's memory limit: half the address space this process may use (the hub's cap,
    SALON_DATASET_WORKER_MEMORY_MB), or 1 GB without one. The rest is Python's and the
    threads'; DuckDB counts more than it touches (its Parquet writer a 256 KB block a column:
    2,000 columns did not fit in 512 MB, and took 390 MB)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return "1GB"
    return f"{soft // 2 // (1024 * 1024)}MB"


def _message(exc: Exception) -> str:
    full = str(exc)
    # DuckDB's first line says where; the next says why. Lines quoting the file are left out.
    lines = [line.strip() for line in full.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Original Line", "Possible Solution"))]
    text = " ".join(lines[:2])[:400]
    if "not utf-8" in full.lower() or "invalid unicode" in full.lower():
        return "The file is not UTF-8 text. Save it as UTF-8 (or send Parquet) and upload again."
    if isinstance(exc, duckdb.OutOfMemoryException | MemoryError) or "MemoryError" in full:
        return (
            "Reading the file needed more memory than an upload may use; split it or send Parquet."
        )
    if isinstance(exc, ValueError):
        return text
    return f"The file could not be read as {{kind}} ({text})."


def main(argv: list[str]) -> int:
    source, kind, target = argv
    try:
        result = convert(source, kind, target, json.loads(sys.stdin.read() or "{}"))
    except Exception as exc:
        message = _message(exc).replace("{kind}", kind.upper()).replace(source, "the file")
        print(json.dumps({"error": message}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
