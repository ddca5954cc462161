"""Backups of a running hub and restoring them, through the command line against a real hub:
the backup is taken while people read, the restored data folder holds the same runs, points,
datasets and audit trail (its chain verifying), and bad destinations, a full or unwritable disk,
a non-admin and a non-empty or incomplete folder are refused with nothing half-written left."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import hub
from hub.store import open_store
from tests.api.test_datasets import person
from tests.conftest import LiveHub, graphql_call, start_hub
from tests.test_admin_cli import ok, salon
from tests.test_cli import SALON, salon_env


def counts(path: Path) -> dict[str, int]:
    store = open_store(path)
    try:

        def read(cur: object) -> dict[str, int]:
            tables = ("runs", "metrics", "dataset_versions", "audit_events")
            found = {}
            for table in tables:
                row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[attr-defined]
                found[table] = int(row[0])
            return found

        return asyncio.run(store.db.read(read))
    finally:
        store.close()


def restore(data_dir: Path, source: Path) -> subprocess.CompletedProcess[str]:
    env = salon_env(data_dir)
    return subprocess.run(
        [*SALON, "restore", str(source)], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_backup_while_serving_restores_the_same_hub(
    hub_server: LiveHub, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp_path = tmp_path_factory.mktemp("elsewhere")  # the hub's data folder is its own
    run = hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    for step in range(2000):
        run.log({"loss": float(np.exp(-step / 500))}, step=step)
    run.finish()
    parts = pl.DataFrame({"part": range(500), "ok": [True] * 500})
    hub.Client(hub_server.url, hub_server.token).upload_dataset("vision", "parts", parts)
    reading, errors = threading.Event(), []

    def read_all_the_time() -> None:
        while not reading.is_set():
            answer = graphql_call(
                hub_server.url, hub_server.token, "{ projects { name runCount } }"
            )
            if answer.get("errors"):
                errors.append(answer["errors"])

    reader = threading.Thread(target=read_all_the_time)
    reader.start()
    destination = tmp_path / "backups" / "monday"
    try:
        said = ok(salon(hub_server, "backup", str(destination)))
    finally:
        reading.set()
        reader.join()
    assert not errors, errors[:1]
    assert f"Backed up to {destination}" in said
    assert (destination / "salon-backup.json").is_file() and (destination / "keys").is_dir()
    assert not list(destination.parent.glob("*.part")), "nothing half-written left"

    # Refused, with nothing kept: a folder that is not empty, one that cannot be written, a
    # person who is not an admin.
    taken = salon(hub_server, "backup", str(destination))
    assert taken.returncode == 1 and "is not an empty folder" in taken.stderr
    unwritable = salon(hub_server, "backup", "/proc/salon-backup")
    assert unwritable.returncode == 1 and "failed" in unwritable.stderr
    assert "nothing was kept" in unwritable.stderr
    viewer = person(hub_server, "vic", "viewer", "vision")
    refused = salon(hub_server, "backup", str(tmp_path / "other"), token=viewer)
    assert refused.returncode == 1 and "Only site admins" in refused.stderr
    assert not (tmp_path / "other").exists()

    restored = tmp_path / "restored"
    done = restore(restored, destination)
    assert done.returncode == 0, done.stderr
    assert "Restored" in done.stdout
    again = restore(restored, destination)
    assert again.returncode == 1 and "is not empty" in again.stderr
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "salon.duckdb").write_bytes(b"half")
    broken = restore(tmp_path / "elsewhere", incomplete)
    assert broken.returncode == 1 and "not a complete Salon backup" in broken.stderr

    after = counts(restored / "salon.duckdb")
    assert (after["runs"], after["metrics"], after["dataset_versions"]) == (1, 2000, 1)
    assert after["audit_events"] > 10
    verify = subprocess.run(
        [*SALON, "audit", "verify"],
        env=salon_env(restored),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr
    # A hub started on the restored folder serves the same data, the objects' bytes included.
    for live in start_hub(restored, demo=False):
        client = hub.Client(live.url, live.token)
        assert client.dataset("vision", "parts").equals(parts)
        (back,) = client.runs(project="vision")["id"].to_list()
        assert back == run.id


def test_scheduled_backups_keep_the_newest(tmp_path_factory: pytest.TempPathFactory) -> None:
    """SALON_BACKUP_FOLDER: the hub backs itself up on a schedule and keeps SALON_BACKUP_KEEP."""
    from tests.processes import eventually

    folder = tmp_path_factory.mktemp("scheduled")
    every = 1.5 / 3600  # a backup every second and a half

    def complete() -> list[str]:
        return sorted(  # a backup being written is a .part folder until it is renamed
            p.name
            for p in folder.glob("salon-*")
            if (p / "salon-backup.json").exists() and not p.name.endswith(".part")
        )

    def two() -> list[str] | None:
        found = complete()
        return found if len(found) == 2 else None

    def moved_on(first: list[str]) -> list[str] | None:
        found = complete()
        return found if found and found[0] != first[0] else None

    data = tmp_path_factory.mktemp("hub")
    for _ in start_hub(
        data, demo=False, backup_folder=str(folder), backup_every_hours=every, backup_keep=2
    ):
        first = eventually(two, 60)
        later = eventually(lambda first=first: moved_on(first), 60)
        assert len(later) == 2 and later[0] == first[1], "the oldest went first"
    assert not list(folder.glob("*.part"))
