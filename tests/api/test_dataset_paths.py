"""Data registered in place is read only while it is the very file registered: a link put in
its place, or other bytes of the same size and time, are refused on every read."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hub
from tests.conftest import LiveHub, start_hub

ROWS = """{ dataset(project: "quality", name: "april") { version { rows(limit: 5) {
  __typename ... on DatasetRows { rows } ... on ConflictError { message } } } } }"""


def numbers(path: Path, start: int) -> None:
    """A Parquet file whose size depends only on the row count (plain int64, no compression)."""
    table = pa.table({"x": pa.array(range(start, start + 100), pa.int64())})
    pq.write_table(table, path, compression="none", use_dictionary=False, write_statistics=False)


def refused_everywhere(live: LiveHub, client: hub.Client, how: str) -> None:
    rows = live.graphql(ROWS)["data"]["dataset"]["version"]["rows"]
    assert rows["__typename"] == "ConflictError", rows
    assert "changed after it was registered" in rows["message"] and how in rows["message"]
    with pytest.raises(hub.HubError, match="changed after it was registered"):
        client.dataset("quality", "april")


def test_a_link_or_other_bytes_in_place_of_registered_data_are_refused(tmp_path: Path) -> None:
    roots, secret = tmp_path / "lake", tmp_path / "secret.parquet"
    roots.mkdir()
    source = roots / "april.parquet"
    numbers(source, 0)
    numbers(secret, 1000)
    assert source.stat().st_size == secret.stat().st_size
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots=str(roots)):
        client = hub.Client(live.url, live.token)
        client.register_dataset("quality", "april", str(source))
        assert client.dataset("quality", "april")["x"].to_list() == list(range(100))
        registered = source.stat()

        # A link to a file outside the roots, with the registered file's size and time.
        source.unlink()
        source.symlink_to(secret)
        os.utime(secret, ns=(registered.st_atime_ns, registered.st_mtime_ns))
        assert (source.stat().st_size, source.stat().st_mtime) == (
            registered.st_size,
            registered.st_mtime,
        )
        refused_everywhere(live, client, "leads elsewhere through a link")

        # Other bytes of the same size, given back the registered time.
        source.unlink()
        numbers(source, 500)
        os.utime(source, ns=(registered.st_atime_ns, registered.st_mtime_ns))
        refused_everywhere(live, client, "content (SHA-256)")

        # The registered bytes again: readable again.
        numbers(source, 0)
        os.utime(source, ns=(registered.st_atime_ns, registered.st_mtime_ns))
        assert client.dataset("quality", "april")["x"].to_list() == list(range(100))


def test_a_path_with_a_nul_byte_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots=str(tmp_path / "lake")):
        for path in (f"{tmp_path}/lake/a\x00.parquet", "s3://lake/a\x00.parquet"):
            answer = httpx.post(
                f"{live.url}/api/v1/projects/quality/datasets/april/register",
                json={"path": path},
                headers={"Authorization": f"Bearer {live.token}"},
            )
            assert answer.status_code == 400, answer.text
            assert "NUL" in answer.json()["message"] or "S3 prefix" in answer.json()["message"]
