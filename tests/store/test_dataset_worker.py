"""The upload reader: the same data always gives the same Parquet bytes (so identical uploads
are stored once), and the profile adds up."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hub.store.dataset_conversion import WORKER


def run_worker(source: Path, target: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-I", str(WORKER), str(source), "parquet", str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    return result


def test_same_data_same_bytes_and_a_profile_that_adds_up(tmp_path: Path) -> None:
    rows = 400_000
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, rows)
    x[:1000] = np.nan
    table = pa.table(
        {
            "id": np.arange(rows),
            "x": pa.array(x, from_pandas=True),
            "grade": rng.choice(["A", "B", "C"], rows, p=[0.5, 0.3, 0.2]),
        }
    )
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=50_000)
    first = run_worker(source, tmp_path / "a.parquet")
    run_worker(source, tmp_path / "b.parquet")
    digest = [
        hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.parquet", "b.parquet")
    ]
    assert digest[0] == digest[1], "the written Parquet is byte-for-byte the same"
    profile = first["profile"]
    assert first["rows"] == rows
    assert profile["x"]["nulls"] == 1000
    assert sum(profile["x"]["histogram"]["counts"]) == rows - 1000
    assert abs(profile["x"]["mean"] - float(np.nanmean(x))) < 1e-9
    low, median, high = profile["x"]["quantiles"]
    assert low < median < high and abs(median - float(np.nanmedian(x))) < 0.05
    assert [t["value"] for t in profile["grade"]["top"]] == ["A", "B", "C"]
    assert sum(t["count"] for t in profile["grade"]["top"]) == rows
    assert "top" not in profile["id"], "an almost unique column has no meaningful top values"


def test_quartiles_of_many_numbers_come_from_a_fixed_sample(tmp_path: Path) -> None:
    """Past 8 million numbers, quartiles are computed over a sample of rows chosen by their
    number's hash: close to the exact ones, and the same on every upload of the same file."""
    rows, width = 60_000, 150  # 9 million numbers: every second row or so is kept
    rng = np.random.default_rng(1)
    values = rng.exponential(3.0, (width, rows))
    source = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": values[i] for i in range(width)}), source)
    first = run_worker(source, tmp_path / "a.parquet")["profile"]
    second = run_worker(source, tmp_path / "b.parquet")["profile"]
    assert [first[f"c{i}"]["quantiles"] for i in range(width)] == [
        second[f"c{i}"]["quantiles"] for i in range(width)
    ], "the same file gets the same quartiles"
    for i in (0, 75, 149):
        exact = np.quantile(values[i], [0.25, 0.5, 0.75])
        sampled = first[f"c{i}"]["quantiles"]
        # within 1 % of the rows of the exact quartile
        ranks = [float(np.mean(values[i] <= q)) for q in sampled]
        assert all(abs(r - p) < 0.01 for r, p in zip(ranks, (0.25, 0.5, 0.75), strict=True)), (
            exact,
            sampled,
        )
        assert first[f"c{i}"]["nulls"] == 0
        assert sum(first[f"c{i}"]["histogram"]["counts"]) == rows, "histograms count every row"


def test_a_column_named_like_duckdbs_row_number_is_profiled_as_any_other(tmp_path: Path) -> None:
    rows = 5_000
    table = pa.table({"file_row_number": np.arange(rows) * 2, "x": np.arange(rows, dtype=float)})
    source = tmp_path / "numbered.parquet"
    pq.write_table(table, source)
    result = run_worker(source, tmp_path / "out.parquet")
    assert [c["name"] for c in result["schema"]] == ["file_row_number", "x"]
    assert result["profile"]["file_row_number"]["max"] == str((rows - 1) * 2)
    assert result["profile"]["x"]["quantiles"] == [1249.75, 2499.5, 3749.25]
