"""Reads an uploaded data file in a process of its own and writes it as Parquet with a profile.

DuckDB trusts the files it reads; Salon does not. So uploads are parsed here, in a child
process the hub starts with a memory limit (``RLIMIT_AS``), a limit on what it may write
(``RLIMIT_FSIZE``) and a time limit: a corrupt file, a decompression bomb or a CSV with a
gigantic line costs this process, never the hub. It prints one JSON line: the result, or
``{"error": ...}`` with a message a person can act on (exit status 2).

    python -I hub/store/dataset_worker INPUT (csv|parquet) OUTPUT.parquet < OPTIONS.json

INPUT may be an ``s3://`` address; the options on stdin then name the httpfs extension file
to load and the ``CREATE SECRET`` statement that gives the S3 keys (kept off the command line,
which other users of the machine can read). ``rewrite`` in the options says whether OUTPUT is
written: ``always`` (the default), ``when needed`` (a Parquet file that reads well, see
KEPT_ROW_GROUP_ROWS or the options' ``row_group_rows``, is kept as it came and only profiled) or
``never`` (profile only: data registered where it lies). The result's ``kept`` says which, and
its ``row_group_rows`` how many rows the biggest row group of the file stored holds. With
``profile`` false in the options the file is only written (or kept), not profiled. A file kept
and profiled has had every page of every column decoded here (the profile's pass over every row)
before the hub reads it. It runs as a plain script, importing nothing from Salon but this
folder's ``column_profiles`` (the profile's queries), ``histograms`` and ``sql_text``: only
DuckDB and the standard library.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from hub.store.dataset_worker.column_profiles import ROW_NUMBER, profile
    from hub.store.dataset_worker.sql_text import literal
else:  # run as `python -I <this folder>`: the folder is first on sys.path, and Salon is not
    from column_profiles import ROW_NUMBER, profile
    from sql_text import literal

MAX_COLUMNS = 2000
MAX_LINE_BYTES = 1_000_000
# A Parquet upload is kept as it came (rather than written again) when it reads well: row
# groups of at most pyarrow's default (bigger ones make a page's rows slow to find) and, but
# for the last, of at least MIN_KEPT_ROW_GROUP_ROWS, and a footer (parsed by every read of the
# version) of at most KEPT_FOOTER_BYTES.
KEPT_ROW_GROUP_ROWS = 1_048_576
MIN_KEPT_ROW_GROUP_ROWS = 10_000
KEPT_FOOTER_BYTES = 16 * 1024 * 1024
# A file of more columns is read and written on one thread: a second gained nothing on 150 to
# 2,000 columns (a 2,000-column CSV: 5.9 s on one, 5.4 on two) and holds buffers of its own for
# every column (that CSV ran out of memory once in a full test run).
WRITTEN_WIDE = 100
REWRITES = ("always", "when needed", "never")
# How a file is written: Parquet's second version of its pages and encodings (deltas for
# integers and times, floats split by byte) wrote the bench's 357 MB CSV about 0.4 s faster
# (2.4 s) and 8 % smaller than the first, and is read as fast or faster; pyarrow, polars and
# DuckDB read it.
WRITTEN_AS = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000, PARQUET_VERSION V2"
SNIFFED_ROWS = 20_480  # a CSV's first rows, from which its dialect and column types are found


def _source(con: duckdb.DuckDBPyConnection, path: str, kind: str) -> str:
    """What reads the file (a table function call), once its width is known to be acceptable:
    binding a very wide file costs minutes (Parquet) or more memory than an upload may use
    (CSV), so the width is read first from the Parquet footer or the CSV header."""
    if kind == "parquet":
        _check_width(_parquet_width(con, path))
        return f"read_parquet({literal(path)})"
    _check_width(len(_csv_header(path)))
    sniffed = _sniff(con, path, "")
    if sniffed["Quote"] != "(empty)":
        return _csv_reader(path, sniffed)
    # The sniffer gives up on quotes when one is never closed, and then reads the quote and
    # everything after it as text. Reading with quotes as RFC 4180 has them tells the two apart:
    # a file without quoted values reads the same, and one with an unclosed quote is refused.
    try:
        rfc_4180 = f"quote = '\"', delim = {literal(sniffed['Delimiter'])}"
        return _csv_reader(path, _sniff(con, path, rfc_4180))
    except duckdb.InvalidInputException:
        raise ValueError(
            'A quoted value is never closed: a " opens a value and no " ends it, so the rows '
            'after it cannot be told apart. Close the quote (write "" for a quote inside a '
            "quoted value) and upload again."
        ) from None


def _sniff(con: duckdb.DuckDBPyConnection, path: str, options: str) -> dict[str, Any]:
    """The dialect and column types DuckDB's sniffer finds in the CSV's first SNIFFED_ROWS
    rows, its header taken as the first line; ``options``: what is already known."""
    given = f"header = true, sample_size = {SNIFFED_ROWS}, max_line_size = {MAX_LINE_BYTES}"
    given += f", {options}" if options else ""
    found = con.execute(f"FROM sniff_csv({literal(path)}, {given})")
    row = found.fetchone()
    assert row is not None
    return dict(zip([column[0] for column in found.description], row, strict=True))


def _csv_reader(path: str, sniffed: dict[str, Any]) -> str:
    """``read_csv`` with what ``_sniff`` found spelled out, so that binding it does not sniff
    the file again (0.15 s a bind for the bench's 20 columns; the worker binds it twice). Built
    from the sniffer's fields rather than its ``Prompt``, which does not escape a quote in a
    column's name."""

    def given(value: str) -> str:  # the sniffer says "(empty)" for none
        return literal("" if value == "(empty)" else value)

    columns = ", ".join(
        f"{literal(column['name'])}: {literal(column['type'])}" for column in sniffed["Columns"]
    )
    options = [
        "auto_detect = false",
        "header = true",
        f"delim = {given(sniffed['Delimiter'])}",
        f"quote = {given(sniffed['Quote'])}",
        f"escape = {given(sniffed['Escape'])}",
        f"new_line = {given(sniffed['NewLineDelimiter'])}",
        f"comment = {given(sniffed['Comment'])}",
        f"skip = {int(sniffed['SkipRows'])}",
        f"max_line_size = {MAX_LINE_BYTES}",
        f"columns = {{{columns}}}",
    ]
    for option, field in (("dateformat", "DateFormat"), ("timestampformat", "TimestampFormat")):
        if sniffed[field]:
            options.append(f"{option} = {literal(sniffed[field])}")
    return f"read_csv({literal(path)}, {', '.join(options)})"


def _parquet_width(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """The number of top-level columns, from the footer's schema root."""
    row = con.execute(
        f"SELECT num_children FROM parquet_schema({literal(path)}) LIMIT 1"
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


def _fits(con: duckdb.DuckDBPyConnection, path: str, most_rows: int) -> bool:
    """Whether the Parquet file reads well enough to keep as it came: row groups of at most
    ``most_rows`` (see KEPT_ROW_GROUP_ROWS)."""
    if "://" in path:
        # Only the hub's own objects are asked of in S3 (written again, not profiled): their
        # footers were measured before DuckDB parsed them, when they were uploaded.
        found = con.execute(
            f"SELECT footer_size FROM parquet_file_metadata({literal(path)})"
        ).fetchone()
        footer = int(found[0]) if found else 0
    else:
        with open(path, "rb") as handle:  # the file ends with its footer's length and PAR1
            handle.seek(-8, os.SEEK_END)
            footer = int.from_bytes(handle.read(4), "little")
    if footer > KEPT_FOOTER_BYTES:
        return False
    sizes = _row_group_sizes(con, path)
    return all(rows <= most_rows for rows in sizes) and all(
        rows >= MIN_KEPT_ROW_GROUP_ROWS for rows in sizes[:-1]
    )


def _row_group_sizes(con: duckdb.DuckDBPyConnection, path: str) -> list[int]:
    """The rows of each row group, in order, from the footer."""
    return [
        int(rows)
        for _, rows in con.execute(
            "SELECT DISTINCT row_group_id, row_group_num_rows "
            f"FROM parquet_metadata({literal(path)}) ORDER BY row_group_id"
        ).fetchall()
    ]


def convert(
    source: str, kind: str, target: str, options: dict[str, Any], memory_limit: str = ""
) -> dict[str, Any]:
    """Read ``source`` (csv or parquet), write it to ``target`` as Parquet unless it is kept
    as it came (``rewrite`` in ``options``, see the module's help), and profile it."""
    rewrite = options.get("rewrite", "always")
    if rewrite not in REWRITES:
        raise ValueError(f"rewrite is one of {', '.join(REWRITES)}, not {rewrite!r}.")
    most_rows = int(options.get("row_group_rows", KEPT_ROW_GROUP_ROWS))
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
    reader = _source(con, source, kind)
    names = con.sql(f"FROM {reader}").columns
    _check_width(len(names))  # a header that did not parse, or a sniffed delimiter
    header = [name.strip() for name in _csv_header(source)] if kind == "csv" else names
    repeated = sorted({name for name in header if header.count(name) > 1})
    if len(set(names)) != len(names) or repeated:
        raise ValueError(
            f"Two columns have the same name ({', '.join(repeated) or 'see the header'}); "
            "give every column its own."
        )
    # A file read from S3 is profiled from a local copy: one download, not one per pass.
    profiled = options.get("profile", True)
    remote = "://" in source
    kept = kind == "parquet" and rewrite != "always" and not (remote and profiled)
    kept = kept and (rewrite == "never" or _fits(con, source, most_rows))
    if not kept:
        if len(names) > WRITTEN_WIDE:
            con.execute("SET threads = 1")
        con.execute(f"COPY (FROM {reader}) TO {literal(target)} ({WRITTEN_AS})")
        con.execute(f"SET threads = {cores}")
    path = source if kept else target
    # Rows are numbered (DuckDB's file_row_number) to sample them, unless a column has that name.
    numbered = ROW_NUMBER not in names
    # The file's table function rather than a view: DuckDB binds a view's every column again
    # for each query (15 ms a query of a 2,000-column file, against 1 ms this way).
    numbering = ", file_row_number = true" if numbered else ""
    data = f"read_parquet({literal(path)}{numbering})"
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
        "profile": profile(con, path, data, columns, rows, numbered) if profiled else {},
        "bytes": _size(con, path),
        "kept": kept,
        "row_group_rows": max(_row_group_sizes(con, path), default=0),
    }


def _size(con: duckdb.DuckDBPyConnection, path: str) -> int:
    if "://" not in path:
        return Path(path).stat().st_size
    found = con.execute(f"SELECT file_size_bytes FROM parquet_file_metadata({literal(path)})")
    row = found.fetchone()
    return int(row[0]) if row else 0


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
