"""Registering Parquet that lives in S3 without copying it, against a real S3-compatible
server (moto in server mode): checksums recorded, reads in place, changes at the source
noticed, and addresses outside the allowed prefixes refused."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

import hub
from tests.api.test_datasets import inspections
from tests.conftest import S3Server, start_hub


def put(s3: S3Server, key: str, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    s3.client.put_object(Bucket="lake", Key=key, Body=buffer.getvalue())


def test_registering_from_s3_reads_in_place_and_notices_changes(
    tmp_path: Path, s3_server: S3Server
) -> None:
    s3_server.client.create_bucket(Bucket="lake")
    put(s3_server, "vision/april.parquet", inspections(400))
    put(s3_server, "private/salaries.parquet", inspections(10))
    s3_server.client.put_object(Bucket="lake", Key="vision/notes.csv", Body=b"a\n1\n")
    roots = f"{tmp_path / 'nowhere'},s3://lake/vision/"
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots=roots, **s3_server.settings):
        client = hub.Client(live.url, live.token)
        made = client.register_dataset(
            "quality", "april", "s3://lake/vision/april.parquet", message="in the bucket"
        )
        assert (made["version"], made["rows"], made["created"]) == (1, 400, True)
        assert not list((tmp_path / "hub" / "objects").rglob("*.parquet")), "nothing copied"
        again = client.register_dataset("quality", "april", "s3://lake/vision/april.parquet")
        assert again["created"] is False, "the same object, the same version"
        assert client.dataset("quality", "april").equals(inspections(400))
        page = live.graphql(
            '{ dataset(project: "quality", name: "april") { version { source '
            'rows(limit: 3, orderBy: ["temperature_c desc"]) { ... on DatasetRows { total rows } '
            "} } } }"
        )["data"]["dataset"]["version"]
        assert page["source"] == "s3://lake/vision/april.parquet"
        assert page["rows"]["total"] == 400 and len(page["rows"]["rows"]) == 3
        for bad, words in (
            ("s3://lake/private/salaries.parquet", "not under an S3 prefix"),
            ("s3://lake/vision/../private/salaries.parquet", "'..'"),
            ("s3://lake/vision//april.parquet", "empty"),
            ("s3://lake/visionary/april.parquet", "not under an S3 prefix"),
            ("s3://lake/vision/notes.csv", "upload CSV files instead"),
            ("s3://lake/vision/missing.parquet", "There is no object"),
            ("s3:///vision/april.parquet", "not an S3 address"),
        ):
            with pytest.raises(hub.HubError, match=words):
                client.register_dataset("quality", "april", bad)
        put(s3_server, "vision/april.parquet", inspections(401))  # rewritten at the source
        with pytest.raises(hub.HubError, match="changed after it was registered"):
            client.dataset("quality", "april")
        changed = live.graphql(
            '{ dataset(project: "quality", name: "april") { version { rows(limit: 1) { '
            "__typename ... on ConflictError { message } } } } }"
        )["data"]["dataset"]["version"]["rows"]
        assert changed["__typename"] == "ConflictError"
        newer = client.register_dataset("quality", "april", "s3://lake/vision/april.parquet")
        assert (newer["version"], newer["rows"]) == (2, 401)
        s3_server.client.delete_object(Bucket="lake", Key="vision/april.parquet")
        with pytest.raises(hub.HubError, match="not there any more"):
            client.dataset("quality", "april")


def test_an_unreachable_s3_gets_a_clear_message(tmp_path: Path, s3_server: S3Server) -> None:
    s3_server.client.create_bucket(Bucket="lake")
    put(s3_server, "vision/april.parquet", inspections(20))
    wrong = s3_server.settings | {"s3_endpoint": "http://127.0.0.1:9"}  # nothing listens there
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots="s3://lake/", **wrong):
        client = hub.Client(live.url, live.token)
        with pytest.raises(hub.HubError, match="could not be reached"):
            client.register_dataset("quality", "april", "s3://lake/vision/april.parquet")
