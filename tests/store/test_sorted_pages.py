"""Pages deep into sorted rows, found in a window of the sort column's values: the same rows
as sorting everything, whatever the column holds (ties, nulls, NaN, text, dates) and however the
rows are filtered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.store import sorted_pages
from hub.store.sorted_pages import (
    TEXT_SAMPLED,
    WINDOW_FROM,
    Sort,
    sorted_numbers,
    window_numbers,
)

ROWS = 120_000
SOURCE = "read_parquet(?, file_row_number = true)"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    rng = np.random.default_rng(5)
    score = rng.normal(0, 1, ROWS)
    score[rng.random(ROWS) < 0.01] = np.nan
    missing = rng.random(ROWS) < 0.05
    days = np.datetime64("2026-01-01") + rng.integers(0, 400, ROWS).astype("timedelta64[D]")
    table = pa.table(
        {
            "score": pa.array(score, mask=missing),
            "grade": rng.integers(0, 7, ROWS),  # seven values: ties everywhere
            "label": rng.choice([f"label-{i:03d}" for i in range(300)], ROWS),
            "day": days,
            "rising": np.arange(ROWS) // 10,  # sorted already, in runs of ten
        }
    )
    path = tmp_path_factory.mktemp("sorted") / "data.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    return str(path)


def everything_sorted(
    path: str, condition: str, values: list[Any], order_by: list[tuple[str, bool]], offset: int
) -> list[int]:
    order = ", ".join(f'"{c}" {"DESC" if desc else "ASC"} NULLS LAST' for c, desc in order_by)
    rows = duckdb.connect().execute(
        f"SELECT file_row_number FROM {SOURCE} WHERE {condition} "
        f"ORDER BY {order}, file_row_number LIMIT 50 OFFSET {offset}",
        [[path], *values],
    )
    return [row[0] for row in rows.fetchall()]


ORDERS = [
    [("score", True)],
    [("score", False)],
    [("grade", True), ("score", False)],
    [("grade", False)],
    [("label", True)],
    [("day", False), ("grade", True)],
    [("rising", True)],
]


@pytest.mark.parametrize("order_by", ORDERS, ids=lambda o: ",".join(f"{c}{'-' * d}" for c, d in o))
def test_a_deep_page_is_the_page_of_everything_sorted(
    data: str, order_by: list[tuple[str, bool]]
) -> None:
    con = duckdb.connect()
    for offset in (WINDOW_FROM, 41_234, 60_000, 99_950, 110_000):
        found = window_numbers(con, Sort(SOURCE, "TRUE", [[data]], order_by), offset, 50)
        assert found is not None, f"no window held the page at {offset} by {order_by}"
        assert found == everything_sorted(data, "TRUE", [], order_by, offset), offset


def test_a_filtered_deep_page(data: str) -> None:
    con = duckdb.connect()
    condition, values = "(grade IN (?, ?) AND label > ?)", [2, 5, "label-050"]
    for order_by in ([("score", True)], [("label", False)], [("day", True)]):
        found = window_numbers(
            con, Sort(SOURCE, condition, [[data], *values], order_by), 25_000, 50
        )
        assert found is not None
        assert found == everything_sorted(data, condition, values, order_by, 25_000)


def test_pages_at_the_rows_without_a_value_and_past_the_end(data: str) -> None:
    con = duckdb.connect()
    present = con.execute(f"SELECT count(score) FROM {SOURCE}", [[data]]).fetchone()
    assert present is not None
    order_by = [("score", True)]
    # The page reaches the rows without a score: no window holds it, sorting everything does.
    last = present[0] - 20
    assert window_numbers(con, Sort(SOURCE, "TRUE", [[data]], order_by), last, 50) is None
    for offset in (last, ROWS - 10, ROWS + 5):
        assert sorted_numbers(
            con, Sort(SOURCE, "TRUE", [[data]], order_by), offset, 50
        ) == everything_sorted(data, "TRUE", [], order_by, offset)


def test_no_rows_match(data: str) -> None:
    con = duckdb.connect()
    found = sorted_numbers(
        con, Sort(SOURCE, "grade > ?", [[data], 100], [("score", True)]), 30_000, 50
    )
    assert found == []


class Counting:
    """A connection that counts the statements it runs."""

    def __init__(self) -> None:
        self.connection = duckdb.connect()
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.connection.execute(sql, params)


def test_the_next_page_of_a_sort_reuses_its_estimate(data: str) -> None:
    con = Counting()
    order_by, condition, values = [("score", False)], "grade <> ?", [[data], 4]
    sort = Sort(SOURCE, condition, values, order_by)
    first = window_numbers(con, sort, 70_000, 50)  # type: ignore[arg-type]
    sampled = [s for s in con.statements if "USING SAMPLE" in s]
    following = window_numbers(con, sort, 70_050, 50)  # type: ignore[arg-type]
    assert len([s for s in con.statements if "USING SAMPLE" in s]) == len(sampled) == 1
    assert first == everything_sorted(data, condition, values[1:], order_by, 70_000)
    assert following == everything_sorted(data, condition, values[1:], order_by, 70_050)


def test_an_estimate_that_no_longer_fits_gives_the_right_page(data: str) -> None:
    con = duckdb.connect()
    order_by, condition, values = [("score", True)], "label <> ?", [[data], "label-007"]
    sort = Sort(SOURCE, condition, values, order_by)
    window_numbers(con, sort, 50_000, 50)
    [key] = [k for k in sorted_pages._kept if "label <> ?" in k]
    present, quantiles = sorted_pages._kept[key]
    assert quantiles is not None
    sorted_pages._kept[key] = (present, [q - 0.5 for q in quantiles])  # as if the data changed
    assert window_numbers(con, sort, 50_000, 50) is None
    assert sorted_numbers(con, sort, 50_000, 50) == everything_sorted(
        data, condition, values[1:], order_by, 50_000
    )


def test_long_texts_are_estimated_from_their_first_characters(tmp_path: Path) -> None:
    rows = 30_000
    rng = np.random.default_rng(9)
    notes = [f"{n:07d} " + "x" * 600 for n in rng.integers(0, 10_000_000, rows)]
    path = tmp_path / "notes.parquet"
    pq.write_table(pa.table({"note": notes}), path)
    sort = Sort(SOURCE, "TRUE", [[str(path)]], [("note", False)])
    found = window_numbers(duckdb.connect(), sort, 21_000, 50)
    assert found == everything_sorted(str(path), "TRUE", [], sort.order_by, 21_000)
    [(_, quantiles)] = [v for k, v in sorted_pages._kept.items() if (str(path),) in k]
    assert quantiles is not None and max(map(len, quantiles)) == TEXT_SAMPLED


def test_texts_sharing_their_first_characters(tmp_path: Path) -> None:
    """Texts that share their first characters all look alike to the estimate: the page is
    found by sorting everything."""
    rows = 40_000
    rng = np.random.default_rng(4)
    texts = ["same start " * 30 + f"{n:07d}" for n in rng.integers(0, 10_000_000, rows)]
    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"text": texts, "n": np.arange(rows)}), path)
    for descending in (False, True):
        sort = Sort(SOURCE, "TRUE", [[str(path)]], [("text", descending)])
        for offset in (20_000, 30_000):
            assert window_numbers(duckdb.connect(), sort, offset, 50) is None
            assert sorted_numbers(duckdb.connect(), sort, offset, 50) == everything_sorted(
                str(path), "TRUE", [], sort.order_by, offset
            )


def test_lists_and_structs_are_sorted_in_full(tmp_path: Path) -> None:
    """DuckDB sorts lists and structs but does not compare them with >= and <=: no window,
    the page of everything sorted all the same."""
    path = tmp_path / "nested.parquet"
    duckdb.connect().execute(
        "COPY (SELECT [range % 100, range % 7] AS pair, {'a': range % 13} AS item "
        f"FROM range(60000)) TO '{path}'"
    )
    for column in ("pair", "item"):
        sort = Sort(SOURCE, "TRUE", [[str(path)]], [(column, True)])
        assert sorted_numbers(duckdb.connect(), sort, 30_000, 50) == everything_sorted(
            str(path), "TRUE", [], sort.order_by, 30_000
        )
