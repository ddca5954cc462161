"""The upload reader: the same data always gives the same Parquet bytes (so identical uploads
are stored once), and the profile adds up."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from hub.settings import Settings
from hub.store import s3_access
from hub.store.dataset_conversion import WORKER, Limits, convert
from tests.conftest import S3Server


def run_worker(source: Path, target: Path, rewrite: str = "always", **options: Any) -> dict:  # type: ignore[type-arg]
    kind = source.suffix.lstrip(".")
    done = subprocess.run(
        [sys.executable, "-I", str(WORKER), str(source), kind, str(target)],
        input=json.dumps({"rewrite": rewrite, **options}),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    return result


def mixed_table(rows: int, width: int, whole_numbers: int, seed: int) -> pa.Table:
    """``width`` columns in turn of whole numbers below ``whole_numbers``, normal numbers and
    one of three letters."""
    rng = np.random.default_rng(seed)
    kinds = [
        lambda: rng.integers(0, whole_numbers, rows),
        lambda: rng.normal(0, 1, rows),
        lambda: rng.choice(["a", "b", "c"], rows),
    ]
    return pa.table({f"c{i}": kinds[i % 3]() for i in range(width)})


def same_profile(first: dict, second: dict) -> bool:  # type: ignore[type-arg]
    """Equal profiles, but for the mean and spread's last digits (summed by two threads in
    either order)."""
    for name in first.keys() | second.keys():
        a, b = dict(first.get(name, {})), dict(second.get(name, {}))
        for key in ("mean", "std"):
            x, y = a.pop(key, None), b.pop(key, None)
            if (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-9 * abs(x) + 1e-12):
                return False
        if a != b:
            return False
    return True


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
    # a CSV file, read and written on both cores, too
    pcsv.write_csv(table, tmp_path / "in.csv")
    run_worker(tmp_path / "in.csv", tmp_path / "c.parquet")
    run_worker(tmp_path / "in.csv", tmp_path / "d.parquet")
    assert (tmp_path / "c.parquet").read_bytes() == (tmp_path / "d.parquet").read_bytes()
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


def test_means_and_spreads_agree_with_numpy_wherever_the_values_lie(tmp_path: Path) -> None:
    """Means and spreads are summed from each value's distance to the middle of its column's
    range: they agree with numpy's for values far from zero, whole numbers and a column of one
    value; for values far from the middle for their spread (one extreme outlier), whose sums
    round too coarsely, they are counted again another way. NaN and infinities are left out
    (as from histograms): a file holding them was refused before, by DuckDB's stddev_samp. A
    single value has no spread."""
    rows = 1_000_000
    rng = np.random.default_rng(5)
    outlier = rng.normal(0, 1, rows)
    outlier[17] = 1e12
    not_finite = rng.normal(0, 1, rows)
    not_finite[[3, 4, 5]] = [np.inf, np.nan, -np.inf]
    columns = {
        "far_from_zero": rng.normal(1e6, 3.0, rows),
        "whole": rng.integers(-5, 6, rows),
        "constant": np.full(rows, 2.5),
        "outlier": outlier,
    }
    table = pa.table(
        {
            **columns,
            "not_finite": not_finite,
            "single": pa.array([None] * (rows - 1) + [4.0], pa.float64()),
        }
    )
    source = tmp_path / "numbers.parquet"
    pq.write_table(table, source, row_group_size=250_000)
    profile = run_worker(source, tmp_path / "out.parquet")["profile"]
    finite = not_finite[np.isfinite(not_finite)]
    for name, values in [*columns.items(), ("not_finite", finite)]:
        mean, std = float(values.mean()), float(values.std(ddof=1))
        assert abs(profile[name]["mean"] - mean) <= 1e-12 * max(1.0, abs(mean)), name
        assert abs(profile[name]["std"] - std) <= 1e-11 * std, name
    assert profile["not_finite"]["nulls"] == 0
    assert (profile["single"]["mean"], profile["single"]["std"]) == (4.0, None)


def test_distributions_of_many_numbers_come_from_a_fixed_sample(tmp_path: Path) -> None:
    """Past 2 million numbers, quartiles and histograms are counted over a sample of the rows:
    close to the exact ones, and the same on every upload of the same file."""
    rows, width = 100_000, 40  # 4 million numbers: every second row is kept
    rng = np.random.default_rng(1)
    values = rng.exponential(3.0, (width, rows))
    source = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": values[i] for i in range(width)}), source)
    first = run_worker(source, tmp_path / "a.parquet")["profile"]
    second = run_worker(source, tmp_path / "b.parquet")["profile"]
    assert [first[f"c{i}"]["quantiles"] for i in range(width)] == [
        second[f"c{i}"]["quantiles"] for i in range(width)
    ], "the same file gets the same quartiles"
    for i in (0, 20, 39):
        exact = np.quantile(values[i], [0.25, 0.5, 0.75])
        sampled = first[f"c{i}"]["quantiles"]
        # within 1 % of the rows of the exact quartile
        ranks = [float(np.mean(values[i] <= q)) for q in sampled]
        assert all(abs(r - p) < 0.01 for r, p in zip(ranks, (0.25, 0.5, 0.75), strict=True)), (
            exact,
            sampled,
        )
        assert first[f"c{i}"]["nulls"] == 0
        sampled_rows = first[f"c{i}"]["sample_rows"]
        assert 40_000 < sampled_rows <= 50_000, "2 million numbers at most, over 40 columns"
        assert sum(first[f"c{i}"]["histogram"]["counts"]) == sampled_rows, "the sample's rows"
        assert abs(first[f"c{i}"]["mean"] - float(values[i].mean())) < 1e-9, "means cover all"


def test_a_column_named_like_duckdbs_row_number_is_profiled_as_any_other(tmp_path: Path) -> None:
    rows = 5_000
    table = pa.table({"file_row_number": np.arange(rows) * 2, "x": np.arange(rows, dtype=float)})
    source = tmp_path / "numbered.parquet"
    pq.write_table(table, source)
    result = run_worker(source, tmp_path / "out.parquet")
    assert [c["name"] for c in result["schema"]] == ["file_row_number", "x"]
    assert result["profile"]["file_row_number"]["max"] == str((rows - 1) * 2)
    assert result["profile"]["x"]["quantiles"] == [1249.75, 2499.5, 3749.25]


def test_quotes_in_a_files_name_are_only_part_of_its_name(tmp_path: Path) -> None:
    """The worker writes file names into its SQL as text: a name with quotes (a registered
    file keeps the name it has) reads as that file, and nothing else."""
    folder = tmp_path / "o'brien's \"data\""
    folder.mkdir()
    table = pa.table({"part": ["a'b", "c"], "x": [1.5, 2.5]})
    parquet, csv = folder / "it's.parquet", folder / "it's.csv"
    pq.write_table(table, parquet)
    pcsv.write_csv(table, csv)
    for source in (parquet, csv):
        result = run_worker(source, folder / "o'ut.parquet", rewrite="when needed")
        assert result["rows"] == 2, source.name
        assert result["profile"]["part"]["top"] == [
            {"value": "a'b", "count": 1},
            {"value": "c", "count": 1},
        ]
    assert pq.read_table(folder / "o'ut.parquet").equals(table)


def test_a_csv_is_read_with_its_dialect_types_and_names_as_written(tmp_path: Path) -> None:
    """A CSV is sniffed once and then read with what was found spelled out: names with quotes,
    a semicolon between values, Windows line ends, dates and a quoted text come through as
    written."""
    source = tmp_path / "semicolons.csv"
    source.write_bytes(
        b'o\'brien;"say ""hi""";when;note\r\n1;2.5;2024-01-02;"a;b"\r\n2;3.5;2024-01-03;c\r\n'
    )
    result = run_worker(source, tmp_path / "out.parquet")
    assert [(c["name"], c["type"]) for c in result["schema"]] == [
        ("o'brien", "BIGINT"),
        ('say "hi"', "DOUBLE"),
        ("when", "DATE"),
        ("note", "VARCHAR"),
    ]
    written = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [
        (row["o'brien"], row['say "hi"'], str(row["when"]), row["note"]) for row in written
    ] == [
        (1, 2.5, "2024-01-02", "a;b"),
        (2, 3.5, "2024-01-03", "c"),
    ]


def test_a_big_sorted_column_sampled_in_runs_spread_over_the_file(tmp_path: Path) -> None:
    """Past a million rows the sample is runs of neighbouring rows spread evenly over the file:
    a column sorted from start to end (an id, a time) still gets quartiles and a histogram
    close to the exact ones; counts, extremes, distinct values and the mean cover every row."""
    rows = 2_500_000
    ids = np.arange(rows, dtype=np.int64)
    source = tmp_path / "sorted.parquet"
    pq.write_table(pa.table({"id": ids}), source, row_group_size=500_000)
    profile = run_worker(source, tmp_path / "a.parquet")["profile"]
    assert same_profile(profile, run_worker(source, tmp_path / "b.parquet")["profile"])
    first = profile["id"]
    assert first["sample_rows"] == 1_000_000
    assert (first["min"], first["max"], first["nulls"]) == ("0", str(rows - 1), 0)
    assert first["mean"] == (rows - 1) / 2
    assert first["distinct"] > 2_000_000, "estimated over every row, not the sample's million"
    exact = [rows * 0.25, rows * 0.5, rows * 0.75]
    assert all(abs(q - e) < rows * 0.005 for q, e in zip(first["quantiles"], exact, strict=True))
    counts = first["histogram"]["counts"]
    assert sum(counts) == 1_000_000
    assert all(abs(c - 100_000) < 1_000 for c in counts), counts


def test_parquet_that_reads_well_is_kept_as_it_came(tmp_path: Path) -> None:
    """With rewrite "when needed" a Parquet file whose row groups are of a size the hub reads
    well is profiled and kept (nothing written); a bigger row group, or a CSV file, is written
    as Parquet; "never" only profiles."""
    rows = 1_100_000
    table = pa.table({"id": np.arange(rows), "grade": np.array(["A", "B"])[np.arange(rows) % 2]})
    small = tmp_path / "small.parquet"
    pq.write_table(table, small, row_group_size=100_000)
    kept = run_worker(small, tmp_path / "small-out.parquet", "when needed")
    assert kept["kept"] is True and kept["bytes"] == small.stat().st_size
    assert kept["row_group_rows"] == 100_000
    assert not (tmp_path / "small-out.parquet").exists(), "nothing written"
    assert kept["rows"] == rows and kept["profile"]["grade"]["top"][0]["value"] in ("A", "B")
    written = run_worker(small, tmp_path / "small-copy.parquet")
    assert written["kept"] is False and (tmp_path / "small-copy.parquet").exists()
    assert same_profile(written["profile"], kept["profile"]), "the same data, profile"

    big = tmp_path / "big.parquet"
    pq.write_table(table, big, row_group_size=rows)  # one row group past pyarrow's default
    rewritten = run_worker(big, tmp_path / "big-out.parquet", "when needed")
    assert rewritten["kept"] is False
    out = pq.ParquetFile(tmp_path / "big-out.parquet")
    assert out.metadata.num_rows == rows and out.metadata.row_group(0).num_rows <= 122_880
    assert rewritten["row_group_rows"] == out.metadata.row_group(0).num_rows

    csv = tmp_path / "grades.csv"
    csv.write_text("id,grade\n1,A\n2,B\n")
    assert run_worker(csv, tmp_path / "csv-out.parquet", "when needed")["kept"] is False
    assert (tmp_path / "csv-out.parquet").exists()

    tiny = tmp_path / "tiny.parquet"  # a footer entry per 1,000 rows, read by every page
    pq.write_table(table.slice(0, 50_000), tiny, row_group_size=1_000)
    assert run_worker(tiny, tmp_path / "tiny-out.parquet", "when needed")["kept"] is False
    bloated = tmp_path / "bloated.parquet"  # 20 MB of a writer's notes in the footer
    pq.write_table(
        table.slice(0, 1000).replace_schema_metadata({"notes": "x" * 20_000_000}), bloated
    )
    assert run_worker(bloated, tmp_path / "bloated-out.parquet", "when needed")["kept"] is False
    assert pq.ParquetFile(tmp_path / "bloated-out.parquet").metadata.serialized_size < 100_000

    only = run_worker(big, tmp_path / "never.parquet", "never")
    assert only["kept"] is True and not (tmp_path / "never.parquet").exists()
    assert same_profile(only["profile"], rewritten["profile"])


def test_a_file_is_kept_below_the_row_groups_asked_for_and_written_without_a_profile(
    tmp_path: Path,
) -> None:
    """What the hub asks when it writes a kept upload again (``dataset_layout``): a lower
    bound on the row groups kept, and no profile (the version has one)."""
    source = tmp_path / "readings.parquet"
    table = pa.table({"id": np.arange(200_000), "value": np.linspace(0, 1, 200_000)})
    pq.write_table(table, source, row_group_size=200_000)
    target = tmp_path / "out.parquet"
    written = run_worker(source, target, "when needed", row_group_rows=131_072, profile=False)
    assert (written["kept"], written["profile"], written["rows"]) == (False, {}, 200_000)
    out = pq.ParquetFile(target)
    assert written["row_group_rows"] == max(
        out.metadata.row_group(i).num_rows for i in range(out.num_row_groups)
    )
    assert written["row_group_rows"] <= 131_072 and out.read().equals(table)
    kept = run_worker(source, tmp_path / "kept.parquet", "when needed", row_group_rows=250_000)
    assert (kept["kept"], kept["row_group_rows"]) == (True, 200_000) and kept["profile"]


def test_a_file_in_s3_is_kept_there_when_it_reads_well_and_is_not_profiled(
    tmp_path: Path, s3_server: S3Server
) -> None:
    """The hub's own objects in an S3 object store, looked at for how they are laid out: one
    that reads well is measured where it lies (nothing written), a bigger row group is written
    here; with a profile asked for, a local copy is always written (one download, not one a
    pass)."""
    s3_server.client.create_bucket(Bucket="objects")
    access = s3_access(Settings(object_store="s3://objects", **s3_server.settings))
    assert access is not None
    table = pa.table({"id": np.arange(150_000), "value": np.linspace(0, 1, 150_000)})
    for key, row_group_rows in (("small.parquet", 50_000), ("big.parquet", 150_000)):
        local = tmp_path / key
        pq.write_table(table, local, row_group_size=row_group_rows)
        s3_server.client.upload_file(str(local), "objects", key)
    looked = {"rewrite": "when needed", "row_group_rows": 131_072, "profile": False}
    small = run_worker_on("s3://objects/small.parquet", tmp_path / "s.parquet", access, looked)
    assert (small["kept"], small["row_group_rows"], small["rows"]) == (True, 50_000, 150_000)
    assert small["bytes"] == (tmp_path / "small.parquet").stat().st_size
    assert not (tmp_path / "s.parquet").exists(), "written though it reads well"
    big = run_worker_on("s3://objects/big.parquet", tmp_path / "b.parquet", access, looked)
    assert (big["kept"], big["rows"]) == (False, 150_000) and big["row_group_rows"] <= 131_072
    assert pq.read_table(tmp_path / "b.parquet").equals(table)
    profiled = {"rewrite": "when needed", "row_group_rows": 131_072}
    copy = run_worker_on("s3://objects/small.parquet", tmp_path / "c.parquet", access, profiled)
    assert copy["kept"] is False and (tmp_path / "c.parquet").exists() and copy["profile"]


def run_worker_on(source: str, target: Path, access: Any, options: dict[str, Any]) -> Any:
    done = subprocess.run(
        [sys.executable, "-I", str(WORKER), source, "parquet", str(target)],
        input=json.dumps({**access.for_worker(), **options}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_an_unknown_rewrite_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "one.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), source)
    done = subprocess.run(
        [sys.executable, "-I", str(WORKER), str(source), "parquet", str(tmp_path / "o.parquet")],
        input=json.dumps({"rewrite": "sometimes"}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "rewrite is one of always, when needed, never" in json.loads(done.stdout)["error"]


def test_distinct_values_counted_exactly_when_few_and_closely_when_many(tmp_path: Path) -> None:
    """A column with up to some 6,400 values has its distinct values counted exactly; more
    are estimated from the values whose hash falls in one of 64 slots, within a few percent
    (DuckDB's approx_count_distinct was 7-10 % low here, so a unique column looked repeated,
    and 13 % high for 5,000 stores)."""
    rows = 2_000_000
    rng = np.random.default_rng(3)
    table = pa.table(
        {
            "order_number": rng.permutation(rows).astype(np.int64) * 7 + 11,
            "store": rng.integers(0, 5_000, rows),
            "grade": rng.choice(["A", "B", "C"], rows),
            "price": np.round(rng.uniform(1, 300, rows), 1),  # 2,990 values
            "half": np.where(np.arange(rows) % 2 == 0, None, rng.integers(0, 300_000, rows)),
            "sometimes": np.where(np.arange(rows) % 3 == 0, None, rng.choice(["x", "y"], rows)),
        }
    )
    source = tmp_path / "many.parquet"
    pq.write_table(table, source, row_group_size=250_000)
    profile = run_worker(source, tmp_path / "a.parquet", rewrite="never")["profile"]
    exact = {name: len(set(table[name].drop_null().to_pylist())) for name in table.column_names}
    assert profile["store"]["distinct"] == exact["store"] == 5_000
    assert profile["grade"]["distinct"] == 3
    assert profile["sometimes"]["distinct"] == 2, "a null is no value"
    assert profile["price"]["distinct"] == exact["price"]
    for name in ("order_number", "half"):
        assert abs(profile[name]["distinct"] - exact[name]) < 0.05 * exact[name], name
        assert profile[name]["distinct_estimated"], name
    assert not any("distinct_estimated" in profile[name] for name in ("store", "grade", "price"))
    assert profile["half"]["nulls"] == rows // 2
    # the estimate leaves nulls out by leaning on their hash (one for all) being off the slot
    assert duckdb.sql("SELECT hash(NULL) & 63").fetchone() != (0,)


def test_distinct_values_are_counted_alike_in_a_scan_a_column_or_in_one_query(
    tmp_path: Path,
) -> None:
    """A file with at least 1,000 rows a column has each column's distinct values counted in a
    scan of its own; one with fewer (here one column more) in one query. Both give the same
    counts, exact below some 6,400 values and estimated above, but for whole numbers within
    65,536 of each other, counted exactly however many."""
    rows = 20_000
    rng = np.random.default_rng(7)
    columns = {
        "unique": rng.permutation(rows) * 7,  # 140,000 apart at most: estimated
        "some": rng.integers(0, 9_000, rows) * 101,
        "narrow": rng.integers(0, 60_000, rows),  # 16,000 values or so, counted
        "few": rng.integers(0, 40, rows),
        "texts": rng.choice([f"t{i}" for i in range(500)], rows),
        "with_nulls": np.where(np.arange(rows) % 4 == 0, None, rng.integers(0, 200, rows)),
    }
    columns |= {f"pad{i}": np.arange(rows) % (i + 2) for i in range(20 - len(columns))}
    table = pa.table(columns)
    wider = table.append_column("one_more", pa.array(np.zeros(rows, dtype=np.int64)))
    profiles = []
    for name, written in (("table", table), ("wider", wider)):
        pq.write_table(written, tmp_path / f"{name}.parquet")
        worked = run_worker(tmp_path / f"{name}.parquet", tmp_path / "o.parquet", "never")
        profiles.append(worked["profile"])
    by_own_scans, in_one_query = profiles
    assert in_one_query.pop("one_more")["distinct"] == 1
    assert same_profile(by_own_scans, in_one_query)
    exact = {name: len(set(table[name].drop_null().to_pylist())) for name in columns}
    for name in ("few", "texts", "with_nulls", "pad3", "narrow"):
        assert by_own_scans[name]["distinct"] == exact[name], name
        assert "distinct_estimated" not in by_own_scans[name], name
    assert exact["narrow"] > 10_000
    for name in ("unique", "some"):
        assert abs(by_own_scans[name]["distinct"] - exact[name]) < 0.1 * exact[name], name
        assert by_own_scans[name]["distinct_estimated"], name


def test_text_extremes_come_from_the_footer_only_where_it_holds_them_exactly(
    tmp_path: Path,
) -> None:
    """Nulls, smallest and largest text come from the Parquet footer where every row group's
    statistics hold them exactly; a text too long for a writer's statistics (pyarrow leaves it
    out past 4 KB, DuckDB cuts it at 256 characters and says so) is found by the scan. Either
    way they are the data's own, as DuckDB counts and orders them."""
    rows = 30_000
    rng = np.random.default_rng(11)
    words = rng.choice(["apple", "Äpfel", "", "zebra", "émigré", "Zürich"], rows).astype(object)
    words[::7] = None
    notes = [f"note {i % 50}" for i in range(rows)]
    notes[12_345] = "z" * 5_000  # the largest, too long for either writer's statistics
    table = pa.table({"word": pa.array(words, pa.string()), "note": notes})
    source = tmp_path / "texts.parquet"
    pq.write_table(table, source, row_group_size=10_000)
    pcsv.write_csv(table, tmp_path / "texts.csv")
    for given, written in ((source, source), (tmp_path / "texts.csv", tmp_path / "out.parquet")):
        profile = run_worker(given, tmp_path / "out.parquet", "when needed")["profile"]
        for name in ("word", "note"):
            q = f"SELECT count(*) - count({name}), min({name}), max({name}) FROM '{written}'"
            nulls, low, high = duckdb.sql(q).fetchone()  # type: ignore[misc]
            figures = (profile[name]["nulls"], profile[name]["min"], profile[name]["max"])
            assert figures == (nulls, low[:1000], high[:1000]), (given.name, name)
    assert profile["note"]["max"] == "z" * 1000


def test_a_file_of_times_alone_is_profiled(tmp_path: Path) -> None:
    """Times have their extremes in the footer and no mean: the distinct counts are the whole
    query (no row of the file read outside them)."""
    rows = 20_000
    table = pa.table(
        {
            "seen": pa.array(np.arange(rows) * 1_000_000, pa.timestamp("us")),
            "day": pa.array((np.arange(rows) % 3_000).astype("int32"), pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "times.parquet")
    profile = run_worker(tmp_path / "times.parquet", tmp_path / "o.parquet", "never")["profile"]
    assert profile["day"]["distinct"] == 3_000 and "distinct_estimated" not in profile["day"]
    assert (profile["day"]["min"], profile["day"]["max"]) == ("1970-01-01", "1978-03-19")
    assert profile["seen"]["distinct_estimated"]
    assert abs(profile["seen"]["distinct"] - rows) < 0.1 * rows


def test_many_columns_with_few_values_are_counted_exactly_in_batches(tmp_path: Path) -> None:
    """Distinct values are counted 40 columns a query (each count holds a few megabytes: 450
    at once ran out of the worker's memory), estimated and then exactly; top values too."""
    rows, width = 5_000, 450
    rng = np.random.default_rng(4)
    table = pa.table({f"c{i}": rng.permutation(rows) + i * 1_000_000 for i in range(width)})
    table = table.append_column("repeated", pa.array(np.arange(rows) % 7))
    source = tmp_path / "wide.parquet"
    pq.write_table(table, source)
    profile = run_worker(source, tmp_path / "a.parquet", rewrite="never")["profile"]
    assert [profile[f"c{i}"]["distinct"] for i in range(width)] == [rows] * width
    assert profile["repeated"]["distinct"] == 7
    # top values: the most frequent first, ties by value as text, every column its own
    counts = [715, 715, 714, 714, 714]  # 5,000 rows of 0-6 in turn
    assert profile["repeated"]["top"] == [
        {"value": str(v), "count": c} for v, c in enumerate(counts)
    ]
    for i in (0, 41, 449):
        expected = sorted(str(v + i * 1_000_000) for v in range(rows))[:5]
        assert profile[f"c{i}"]["top"] == [{"value": v, "count": 1} for v in expected]


def test_few_values_among_nulls_are_counted_exactly_in_a_file_of_few_rows(tmp_path: Path) -> None:
    """A file of few rows for its columns has the columns with few values counted together in
    long form (a value's hash beside its column): a null is no value, a column of nulls alone
    has none, and no column's values are counted as another's."""
    rows = 300  # 30 columns: fewer than 1,000 rows a column
    rng = np.random.default_rng(8)
    every_third = np.arange(rows) % 3 == 0
    columns = {
        "grade": np.where(every_third, None, rng.choice(["A", "B", "C"], rows)),
        "score": pa.array(np.where(every_third, None, rng.choice([0.5, 1.5], rows)), pa.float64()),
        "nothing": pa.array([None] * rows, pa.string()),
        "same_texts": np.where(every_third, None, rng.choice(["A", "B", "C", "D"], rows)),
    }
    columns |= {f"pad{i}": rng.choice([f"v{j}" for j in range(i + 2)], rows) for i in range(26)}
    table = pa.table(columns)
    pq.write_table(table, tmp_path / "few.parquet")
    profile = run_worker(tmp_path / "few.parquet", tmp_path / "o.parquet", "never")["profile"]
    exact = {name: len(set(table[name].drop_null().to_pylist())) for name in table.column_names}
    assert (exact["grade"], exact["score"], exact["nothing"], exact["same_texts"]) == (3, 2, 0, 4)
    assert {name: profile[name]["distinct"] for name in exact} == exact
    assert not any("distinct_estimated" in column for column in profile.values())


def test_a_file_of_two_thousand_columns_is_profiled(tmp_path: Path) -> None:
    """As many columns as an upload may have: every query takes 40 of them (one query of
    all 2,000 quartiles and histograms ran out of the worker's memory)."""
    rows, width = 500, 2_000
    table = mixed_table(rows, width, whole_numbers=50, seed=5)
    source = tmp_path / "wide.parquet"
    pq.write_table(table, source)
    profile = run_worker(source, tmp_path / "a.parquet", rewrite="never")["profile"]
    assert len(profile) == width
    for i in (0, 1, 2, 1_997, 1_998, 1_999):
        column = profile[f"c{i}"]
        assert column["nulls"] == 0
        if i % 3 != 2:
            assert sum(column["histogram"]["counts"]) == rows
            assert len(column["quantiles"]) == 3
        if i % 3 != 1:
            assert column["distinct"] == len(set(table[f"c{i}"].to_pylist()))
            counts = [t["count"] for t in column["top"]]
            assert len(counts) == min(5, column["distinct"]) and counts == sorted(counts)[::-1]
        if i % 3 == 2:
            assert sum(counts) == rows, "three values: all of them on top"


def test_long_texts_are_counted_by_hash_and_shown_cut(tmp_path: Path) -> None:
    """150 MB of text (2,000 texts of 50-100 KB): distinct values and top values are counted
    by hash, so the worker's memory holds no text whole; a profile keeps 1,000 characters of
    the smallest, largest and most frequent."""
    rows = 2_000
    rng = np.random.default_rng(6)
    lengths = rng.integers(50_000, 100_000, 1_000)
    texts = [f"{i % 1_000:04d}" + "x" * int(lengths[i % 1_000]) for i in range(rows)]
    source = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"text": texts}), source)
    column = run_worker(source, tmp_path / "a.parquet", rewrite="never")["profile"]["text"]
    assert column["distinct"] == 1_000
    assert (column["min"], column["max"]) == ("0000" + "x" * 996, "0999" + "x" * 996)
    assert column["top"] == [{"value": f"{k:04d}" + "x" * 996, "count": 2} for k in range(5)]


def test_a_csv_file_of_two_thousand_columns_converts_within_the_hubs_memory_cap(
    tmp_path: Path,
) -> None:
    """Through the hub's own call, under its default cap on the worker's address space:
    DuckDB's Parquet writer counts a 256 KB block a column, so 2,000 columns did not fit in
    the 512 MB the worker gave DuckDB (half the cap now)."""
    rows, width = 1_000, 2_000
    source = tmp_path / "wide.csv"
    pcsv.write_csv(mixed_table(rows, width, whole_numbers=9, seed=7), source)
    settings = Settings()
    converted = asyncio.run(
        convert(
            source,
            "csv",
            tmp_path / "out.parquet",
            Limits.of(settings),
        )
    )
    assert converted.rows == rows and len(converted.schema) == width
    assert converted.profile["c1998"]["distinct"] == 9
    assert converted.profile["c1997"]["distinct"] == 3
    assert pq.read_metadata(tmp_path / "out.parquet").num_columns == width


def test_a_conversion_cancelled_stops_its_worker(tmp_path: Path) -> None:
    """The hub stopping in the middle of a background rewrite (or a request given up) takes
    the worker process with it rather than leave it writing."""
    import psutil

    source = tmp_path / "big.parquet"
    rng = np.random.default_rng(1)  # a second or two of the worker's, after its start
    pq.write_table(pa.table({f"c{i}": rng.random(6_000_000) for i in range(4)}), source)

    def workers() -> list[psutil.Process]:
        return [p for p in psutil.Process().children() if "dataset_worker" in " ".join(p.cmdline())]

    async def cancelled() -> list[psutil.Process]:
        task = asyncio.create_task(
            convert(source, "parquet", tmp_path / "out.parquet", Limits.of(Settings()))
        )
        for _ in range(250):
            await asyncio.sleep(0.02)
            started = workers()
            if started:
                break
        assert started, "no worker started"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return started

    started = asyncio.run(cancelled())
    _, alive = psutil.wait_procs(started, timeout=0.3)  # killed, not left to finish
    assert not alive, "the worker outlived its conversion"
