"""A data folder written by Salon 0.1, before schema migrations were recorded
(``tests/fixtures/store-0.1.tar.xz``, made by ``make_store_0_1.py``), served by this Salon: it
is backed up, brought to the current schema, and every run, point, dataset version, comment,
page and audit event is there, with the audit chain verifying."""

from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb

import hub
from hub.store import migrations
from tests.conftest import start_hub

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-0.1.tar.xz"


def test_a_salon_0_1_data_folder_upgrades_with_everything_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with tarfile.open(FIXTURE) as packed:
        packed.extractall(folder, filter="data")
    for live in start_hub(folder, demo=False):
        client = hub.Client(live.url, live.token)
        runs = client.runs(project="vision")
        assert runs["name"].to_list() == ["resnet"] and runs["status"].to_list() == ["finished"]
        points = client.metrics(runs["id"].to_list())
        assert points.height == 900 and sorted(set(points["key"])) == [
            "train/loss",
            "val/acc",
            "val/loss",
        ]
        parts = client.dataset("vision", "parts")
        assert parts.height == 200 and parts.columns == ["part", "line", "ok"]
        found = live.graphql(
            "query($id: ID!) { discussion(kind: RUN, id: $id) { ... on Discussion "
            "{ threads { comments { body } } } } "
            'page(project: "vision", slug: "decisions") { ... on Page { html } } '
            "auditVerification { ... on AuditVerification { ok checked } } }",
            {"id": runs["id"][0]},
        )["data"]
        assert found["discussion"]["threads"][0]["comments"][0]["body"].endswith("@bob?")
        assert "run resnet (finished)" in found["page"]["html"]
        assert found["auditVerification"]["ok"] and found["auditVerification"]["checked"] > 11
    with duckdb.connect(str(folder / "salon.duckdb"), read_only=True) as connection:
        rows = connection.execute("SELECT version FROM schema_migrations").fetchall()
        recorded = [row[0] for row in rows]
    assert sorted(recorded) == [m.version for m in migrations.known()[0]]
    (backup,) = (folder / "backups").glob("salon-*-before-001.duckdb")
    with duckdb.connect(str(backup), read_only=True) as old:
        assert old.execute("SELECT count(*) FROM metrics").fetchone() == (900,)
