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
