"""Reads an uploaded data file in a process of its own and writes it as Parquet with a profile.

DuckDB trusts the files it reads; Salon does not. So uploads are parsed here, in a child
process the hub starts with a memory limit (``RLIMIT_AS``), a limit on what it may write
(``RLIMIT_FSIZE``) and a time limit: a corrupt file, a decompression bomb or a CSV with a
gigantic line costs this process, never the hub. It prints one JSON line: the result, or
``{"error": ...}`` with a message a person can act on (exit status 2).

    python -I hub/store/dataset_worker.py INPUT (csv|parquet) OUTPUT.parquet < OPTIONS.json

INPUT may be an ``s3://`` address; the options on stdin then name the httpfs extension file
to load and the ``CREATE SECRET`` statement that gives the S3 keys (kept off the command line,
which other users of the machine can read). It runs as a plain script, importing nothing from
Salon: only DuckDB and the standard library.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import duckdb

MAX_COLUMNS = 2000
MAX_LINE_BYTES = 1_000_000
TOP_VALUES = 5
MAX_TOP_DISTINCT = 100_000  # top values of an almost unique column say nothing
BINS = 10
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


def _source(con: duckdb.DuckDBPyConnection, path: str, kind: str) -> duckdb.DuckDBPyRelation:
    """The file as a relation, once its width is known to be acceptable: binding a very wide
    file costs minutes (Parquet) or more memory than an upload may use (CSV), so the width is
    read first from the Parquet footer or the CSV header."""
    # The relational API takes the path as a value (table functions cannot be prepared).
    if kind == "parquet":
        _check_width(_parquet_width(con, path))
        return con.read_parquet(path)
    _check_width(len(_csv_header(path)))
    options: dict[str, Any] = {
        "header": True,
        "sample_size": 20480,
        "max_line_size": MAX_LINE_BYTES,
    }
    sniffed = con.execute(
        "SELECT Delimiter, Quote FROM sniff_csv(?, sample_size = 20480, max_line_size = ?)",
        [path, MAX_LINE_BYTES],
    ).fetchone()
    if sniffed is None or sniffed[1] != "(empty)":
        return con.read_csv(path, **options)
    # The sniffer gives up on quotes when one is never closed, and then reads the quote and
    # everything after it as text. Reading with quotes as RFC 4180 has them tells the two apart:
    # a file without quoted values reads the same, and one with an unclosed quote is refused.
    try:
        return con.read_csv(path, **options, quotechar='"', delimiter=sniffed[0])
    except duckdb.InvalidInputException:
        raise ValueError(
            'A quoted value is never closed: a " opens a value and no " ends it, so the rows '
            'after it cannot be told apart. Close the quote (write "" for a quote inside a '
            "quoted value) and upload again."
        ) from None


def _parquet_width(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """The number of top-level columns, from the footer's schema root."""
    row = con.execute("SELECT num_children FROM parquet_schema(?) LIMIT 1", [path]).fetchone()
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


def _profile(
    con: duckdb.DuckDBPyConnection, columns: list[dict[str, str]], rows: int
) -> dict[str, Any]:
    """Every column's profile in two passes over the data, whatever the number of columns:
    counts, extremes, mean, spread and quartiles first; then histograms of numbers and the
    value counts of columns with few distinct values (top values)."""
    parts: list[str] = []
    for column in columns:
        q = _quote(column["name"])
        parts += [
            f"count({q})",
            f"approx_count_distinct({q})",
            f"min({q})::VARCHAR",
            f"max({q})::VARCHAR",
        ]
        if _is_numeric(column["type"]):
            parts += [
                f"avg({q})::DOUBLE",
                f"stddev_samp({q})::DOUBLE",
                f"approx_quantile({q}, [0.25, 0.5, 0.75])::DOUBLE[]",
                f"min({q})::DOUBLE",
                f"max({q})::DOUBLE",
            ]
    first = con.execute(f"SELECT {', '.join(parts)} FROM data").fetchone()
    assert first is not None
    values = iter(first)
    profile: dict[str, Any] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for column in columns:
        name, kind = column["name"], column["type"]
        present, distinct, low_text, high_text = (next(values) for _ in range(4))
        nulls = rows - int(present)
        item: dict[str, Any] = {  # the distinct count is an estimate: keep it plausible
            "type": kind,
            "nulls": nulls,
            "distinct": min(int(distinct), rows - nulls),
            "min": low_text,
            "max": high_text,
        }
        if _is_numeric(kind):
            mean, std, quantiles, low, high = (next(values) for _ in range(5))
            item.update(mean=mean, std=std, quantiles=quantiles)
            if low is not None and high is not None:
                ranges[name] = (low, high)
        profile[name] = item
    second: list[tuple[str, str, str]] = []  # column, what, expression
    for column in columns:
        name, kind = column["name"], column["type"]
        q = _quote(name)
        if name in ranges:
            low, high = ranges[name]
            width = (high - low) / BINS or 1.0
            bucket = f"least(floor(({q}::DOUBLE - {low!r}) / {width!r})::INTEGER, {BINS - 1})"
            finite = f"{q} IS NOT NULL AND isfinite({q}::DOUBLE)"  # least() would bin NULLs
            second.append((name, "histogram", f"histogram({bucket}) FILTER (WHERE {finite})"))
        few = profile[name]["distinct"] <= MAX_TOP_DISTINCT
        if few and not kind.startswith(("FLOAT", "DOUBLE")):
            second.append((name, "top", f"histogram({q}::VARCHAR) FILTER (WHERE {q} IS NOT NULL)"))
    if second:
        found = con.execute(f"SELECT {', '.join(e for _, _, e in second)} FROM data").fetchone()
        assert found is not None
        for (name, what, _), counts in zip(second, found, strict=True):
            counts = counts or {}
            if what == "histogram":
                low, high = ranges[name]
                width = (high - low) / BINS or 1.0
                profile[name]["histogram"] = {
                    "edges": [low + width * i for i in range(BINS + 1)],
                    "counts": [int(counts.get(i, 0)) for i in range(BINS)],
                }
            else:
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
                profile[name]["top"] = [{"value": v, "count": int(c)} for v, c in ranked]
    return profile


def convert(
    source: str, kind: str, target: str, options: dict[str, str], memory_limit: str = "512MB"
) -> dict[str, Any]:
    """Read ``source`` (csv or parquet), write it to ``target`` as Parquet, profile it."""
    settings: dict[str, str | bool | int | float | list[str]] = {
        "threads": 1,  # one writer thread keeps the Parquet bytes the same for the same data
        "memory_limit": memory_limit,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(config=settings)
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
    relation.write_parquet(target, compression="zstd", row_group_size=100_000)
    con.execute(f"SET threads = {min(2, os.cpu_count() or 1)}")  # profiling may use both cores
    con.read_parquet(target).create_view("data")
    columns = [
        {"name": row[0], "type": str(row[1])} for row in con.execute("DESCRIBE data").fetchall()
    ]
    count = con.execute("SELECT count(*) FROM data").fetchone()
    rows = int(count[0]) if count else 0
    return {
        "rows": rows,
        "schema": columns,
        "profile": _profile(con, columns, rows),
        "bytes": Path(target).stat().st_size,
    }


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
