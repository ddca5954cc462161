"""Reads an uploaded data file in a process of its own and writes it as Parquet with a profile.

DuckDB trusts the files it reads; Salon does not. So uploads are parsed here, in a child
process the hub starts with a memory limit (``RLIMIT_AS``), a limit on what it may write
(``RLIMIT_FSIZE``) and a time limit: a corrupt file, a decompression bomb or a CSV with a
gigantic line costs this process, never the hub. It prints one JSON line: the result, or
``{"error": ...}`` with a message a person can act on (exit status 2).

    python -I hub/store/dataset_worker.py INPUT (csv|parquet) OUTPUT.parquet

It runs as a plain script, importing nothing from Salon: only DuckDB and the standard library.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

MAX_COLUMNS = 2000
MAX_LINE_BYTES = 1_000_000
TOP_VALUES = 5
BINS = 10
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(con: duckdb.DuckDBPyConnection, path: str, kind: str) -> duckdb.DuckDBPyRelation:
    # The relational API takes the path as a value (table functions cannot be prepared).
    if kind == "parquet":
        return con.read_parquet(path)
    return con.read_csv(path, header=True, sample_size=20480, max_line_size=MAX_LINE_BYTES)


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
    profile: dict[str, Any] = {}
    for column in columns:
        q, kind = _quote(column["name"]), column["type"]
        numeric = _is_numeric(kind)
        row = con.execute(
            f"SELECT count(*) - count({q}), approx_count_distinct({q}), min({q})::VARCHAR, "
            f"max({q})::VARCHAR FROM data"
        ).fetchone()
        assert row is not None
        nulls = int(row[0])
        item: dict[str, Any] = {  # the distinct count is an estimate: keep it plausible
            "type": kind, "nulls": nulls, "distinct": min(int(row[1]), rows - nulls),
            "min": row[2], "max": row[3],
        }  # fmt: skip
        if numeric and rows:
            stats = con.execute(
                f"SELECT avg({q})::DOUBLE, stddev_samp({q})::DOUBLE, "
                f"quantile_cont({q}, [0.25, 0.5, 0.75])::DOUBLE[], min({q})::DOUBLE, "
                f"max({q})::DOUBLE FROM data"
            ).fetchone()
            assert stats is not None
            item.update(mean=stats[0], std=stats[1], quantiles=stats[2])
            low, high = stats[3], stats[4]
            if low is not None and high is not None:
                width = (high - low) / BINS or 1.0
                counts = dict(
                    con.execute(
                        f"SELECT least(floor(({q}::DOUBLE - ?) / ?)::INTEGER, ?), count(*) "
                        f"FROM data WHERE {q} IS NOT NULL GROUP BY 1",
                        [low, width, BINS - 1],
                    ).fetchall()
                )
                item["histogram"] = {
                    "edges": [low + width * i for i in range(BINS + 1)],
                    "counts": [int(counts.get(i, 0)) for i in range(BINS)],
                }
        if not kind.startswith(("FLOAT", "DOUBLE")):
            top = con.execute(
                f"SELECT {q}::VARCHAR, count(*) FROM data WHERE {q} IS NOT NULL GROUP BY 1 "
                f"ORDER BY 2 DESC, 1 LIMIT {TOP_VALUES}"
            ).fetchall()
            item["top"] = [{"value": value, "count": int(count)} for value, count in top]
        profile[column["name"]] = item
    return profile


def convert(source: str, kind: str, target: str, memory_limit: str = "512MB") -> dict[str, Any]:
    """Read ``source`` (csv or parquet), write it to ``target`` as Parquet, profile it."""
    con = duckdb.connect(
        config={"threads": 1, "memory_limit": memory_limit, "autoinstall_known_extensions": False,
                "autoload_known_extensions": False},
    )  # fmt: skip
    relation = _source(con, source, kind)
    names = relation.columns
    if len(names) > MAX_COLUMNS:
        raise ValueError(f"The file has {len(names)} columns; at most {MAX_COLUMNS} are accepted.")
    header = [name.strip() for name in _csv_header(source)] if kind == "csv" else names
    repeated = sorted({name for name in header if header.count(name) > 1})
    if len(set(names)) != len(names) or repeated:
        raise ValueError(
            f"Two columns have the same name ({', '.join(repeated) or 'see the header'}); "
            "give every column its own."
        )
    relation.write_parquet(target, compression="zstd", row_group_size=100_000)
    con.read_parquet(target).create_view("data")
    columns = [
        {"name": row[0], "type": str(row[1])} for row in con.execute("DESCRIBE data").fetchall()
    ]
    count = con.execute("SELECT count(*) FROM data").fetchone()
    rows = int(count[0]) if count else 0
    return {"rows": rows, "schema": columns, "profile": _profile(con, columns, rows),
            "bytes": Path(target).stat().st_size}  # fmt: skip


def _message(exc: Exception) -> str:
    full = str(exc)
    # DuckDB's first line says where; the next says why. Lines quoting the file are left out.
    lines = [line.strip() for line in full.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Original Line", "Possible Solution"))]
    text = " ".join(lines[:2])[:400]
    if "not utf-8" in full.lower() or "invalid unicode" in full.lower():
        return "The file is not UTF-8 text. Save it as UTF-8 (or send Parquet) and upload again."
    if isinstance(exc, duckdb.OutOfMemoryException | MemoryError):
        return (
            "Reading the file needed more memory than an upload may use; split it or send Parquet."
        )
    if isinstance(exc, ValueError):
        return text
    return f"The file could not be read as {{kind}} ({text})."


def main(argv: list[str]) -> int:
    source, kind, target = argv
    try:
        result = convert(source, kind, target)
    except Exception as exc:
        message = _message(exc).replace("{kind}", kind.upper()).replace(source, "the file")
        print(json.dumps({"error": message}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
