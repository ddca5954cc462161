"""Rows added, removed and changed between two versions, matched by a key column: the hashed
full join gives the counts a row-by-row comparison gives, nested columns and odd keys included."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from hub.store.dataset_diffs import key_changes


def counts(tmp_path: Path, before: pl.DataFrame, after: pl.DataFrame) -> tuple[int, ...]:
    b, a = tmp_path / "b.parquet", tmp_path / "a.parquet"
    before.write_parquet(b)
    after.write_parquet(a)
    compared = [c for c in after.columns if c != "id"]
    return key_changes(duckdb.connect(), [str(b)], [str(a)], "id", compared)


def test_added_removed_changed_and_repeated(tmp_path: Path) -> None:
    before = pl.DataFrame(
        {
            "id": [1, 2, 3, 4, None],
            "x": [1.0, 2.0, 3.0, None, 5.0],
            "tags": [["a"], [], None, ["b"], ["c"]],
        }
    )
    after = pl.DataFrame(
        {
            "id": [2, 3, 4, 5, 5, None],
            "x": [2.0, 3.5, None, 6.0, 6.0, 5.0],
            "tags": [None, None, ["b"], [], [], ["c"]],
        }
    )
    added, removed, changed, repeated = counts(tmp_path, before, after)
    # 5 (twice) and the NULL key are new; 1 and the old NULL key are gone (NULL never matches);
    # 2 changed its tags ([] → NULL), 3 its x; 4 is the same. 5 repeats once, and the two
    # NULL keys (which match nothing) count with the repeats.
    assert (added, removed, changed, repeated) == (3, 2, 2, 3)


def test_identical_versions_change_nothing(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "id": range(1000),
            "s": [f"v{i}" for i in range(1000)],
            "nested": [{"a": i, "b": [i]} for i in range(1000)],
        }
    )
    assert counts(tmp_path, frame, frame) == (0, 0, 0, 0)
