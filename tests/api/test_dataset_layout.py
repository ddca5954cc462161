"""A running hub writes a Parquet upload kept with big row groups again on its own, while the
version stays readable: every answer before, during and after is the same."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

import hub
from hub.services.data.dataset_layout import LAID_OUT_ROWS
from tests.conftest import LiveHub

VERSION = """query($p: String!, $n: String!) { dataset(project: $p, name: $n) { version {
  rowCount rowGroupRows contentHash
  rows(offset: 150000, limit: 20, orderBy: ["load_kw desc"]) {
    ... on DatasetRows { rows rowNumbers } } } } }"""


def meter_readings(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    return pl.DataFrame(
        {
            "meter": rng.choice(["north-7", "north-8", "dock-2"], rows),
            "load_kw": np.round(rng.gamma(4.0, 12.5, rows), 2),
            "minute": np.arange(rows),
        }
    )


def test_the_hub_writes_a_kept_upload_again_and_its_answers_stay(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    frame = meter_readings(250_000)
    path = tmp_path / "meters.parquet"
    pq.write_table(frame.to_arrow(), path, row_group_size=250_000)
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("energy", "meters", path, message="from the historian")
    variables = {"p": "energy", "n": "meters"}
    first = hub_server.graphql(VERSION, variables)["data"]["dataset"]["version"]
    deadline = time.monotonic() + 120
    seen = [first]
    while seen[-1]["rowGroupRows"] is None or seen[-1]["rowGroupRows"] > LAID_OUT_ROWS:
        assert time.monotonic() < deadline, f"not written again: {seen[-1]['rowGroupRows']}"
        time.sleep(0.2)
        seen.append(hub_server.graphql(VERSION, variables)["data"]["dataset"]["version"])
    laid_out = seen[-1]["rowGroupRows"]  # DuckDB's 100,000 are whole vectors, e.g. 100,352
    assert 100_000 <= laid_out <= LAID_OUT_ROWS
    assert {answer["rowGroupRows"] for answer in seen} <= {250_000, laid_out}
    for answer in seen:  # whichever object answered
        assert (answer["rowCount"], answer["contentHash"]) == (250_000, first["contentHash"])
        assert answer["rows"] == first["rows"]
    assert client.dataset("energy", "meters").equals(frame)
