"""Schema migrations on real DuckDB files: each applied once and recorded; a store from before
versions were recorded is brought up with its data and a backup; one that fails is rolled back
and the hub does not start; a store from a newer Salon and, with SALON_AUTO_MIGRATE=false, one
with pending migrations are refused; `salon db status` and `salon db upgrade` do the same from
the command line."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from hub.errors import StoreUnavailable
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import projects
from hub.store import migrations, open_store

SALON = [sys.executable, "-m", "hub.cli"]


def versions(path: Path) -> list[int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [int(row[0]) for row in rows.fetchall()]


def known_versions() -> list[int]:
    return [m.version for m in migrations.known()[0]]


def test_a_new_store_records_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "salon.duckdb"
    open_store(path).close()
    assert versions(path) == known_versions() and known_versions()[:2] == [1, 2]
    open_store(path).close()
    assert versions(path) == known_versions(), "nothing applied twice"
    assert not (tmp_path / "backups").exists(), "a new, empty store needs no backup"


def test_a_store_from_before_versions_keeps_its_data_and_is_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "salon.duckdb"
    store = open_store(path)
    asyncio.run(projects.ensure_project(store, SYSTEM, "vision", "parts"))
    store.close()
    with duckdb.connect(str(path)) as connection:  # as every store was before this release
        connection.execute("DROP TABLE schema_migrations")
    store = open_store(path)
    try:
        names = [p.name for p in asyncio.run(projects.list_projects(store, SYSTEM))]
    finally:
        store.close()
    assert names == ["vision"]
    assert versions(path) == known_versions()
    (backup,) = (tmp_path / "backups").glob("salon-*-before-001.duckdb")
    with duckdb.connect(str(backup), read_only=True) as old:
        assert old.execute("SELECT name FROM projects").fetchall() == [("vision",)]


# This Salon's newest migration, and the numbers of two more a later Salon would add.
LATEST = max(m.version for m in migrations.known()[0])
NEXT, AFTER = LATEST + 1, LATEST + 2


@pytest.fixture
def with_new_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This Salon's migrations and two more: one that works, then one that fails halfway."""
    folder = tmp_path / "schema"
    shutil.copytree(migrations.FOLDER, folder)
    (folder / f"{NEXT:03d}_run_colour.sql").write_text(
        "ALTER TABLE runs ADD COLUMN colour VARCHAR;\n"
    )
    monkeypatch.setattr(migrations, "FOLDER", folder)
    return folder


def test_a_failed_migration_is_rolled_back_and_the_store_not_opened(
    tmp_path: Path, with_new_migrations: Path
) -> None:
    path = tmp_path / "salon.duckdb"
    open_store(path).close()
    assert versions(path)[-1] == NEXT
    (with_new_migrations / f"{AFTER:03d}_broken.sql").write_text(
        "ALTER TABLE runs ADD COLUMN size INTEGER;\nSELECT * FROM no_such_table;\n"
    )
    with pytest.raises(
        StoreUnavailable, match=rf"Migration {AFTER:03d} \(broken\) failed.*at migration {NEXT:03d}"
    ):
        open_store(path)
    assert versions(path)[-1] == NEXT
    with duckdb.connect(str(path), read_only=True) as connection:
        columns = {row[0] for row in connection.execute("DESCRIBE runs").fetchall()}
    assert "colour" in columns and "size" not in columns, "the broken one left nothing behind"
    assert list((tmp_path / "backups").glob(f"*-before-{AFTER:03d}.duckdb")), (
        "backed up before trying"
    )


def test_a_newer_store_and_pending_migrations_without_auto_migrate_are_refused(
    tmp_path: Path, with_new_migrations: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "salon.duckdb"
    open_store(path).close()  # with the new migration
    monkeypatch.setattr(migrations, "FOLDER", with_new_migrations.parent / "older")
    shutil.copytree(with_new_migrations, migrations.FOLDER)
    (migrations.FOLDER / f"{NEXT:03d}_run_colour.sql").unlink()  # the Salon before it
    with pytest.raises(StoreUnavailable, match=rf"last used by a newer Salon.*{NEXT:03d}"):
        open_store(path)

    fresh = tmp_path / "other.duckdb"
    open_store(fresh).close()  # without the new migration
    monkeypatch.setattr(migrations, "FOLDER", with_new_migrations)
    with pytest.raises(
        StoreUnavailable, match=rf"needs 1 migration.*{NEXT:03d} run_colour.*salon db"
    ):
        open_store(fresh, auto_migrate=False)
    assert versions(fresh)[-1] == LATEST, "nothing applied"


def test_salon_db_status_and_upgrade(tmp_path: Path) -> None:
    env = {**os.environ, "SALON_DATA_DIR": str(tmp_path / "data")}

    def salon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SALON, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )

    assert "No store at" in salon("db", "status").stdout
    path = tmp_path / "data" / "salon.duckdb"
    open_store(path).close()
    with duckdb.connect(str(path)) as connection:  # a store from before versions
        connection.execute("DROP TABLE schema_migrations")
    before = salon("db", "status")
    assert before.returncode == 0 and "pending  001 core" in before.stdout, before.stdout
    done = salon("db", "upgrade")
    assert done.returncode == 0 and f"applied  {LATEST:03d}" in done.stdout, (
        done.stdout + done.stderr
    )
    shown = json.loads(salon("db", "status", "--json").stdout)
    assert (shown["pending"], shown["migration"]) == ([], known_versions()[-1])
    after = salon("db", "status")
    assert "Up to date." in after.stdout and f"migration {known_versions()[-1]:03d}" in after.stdout
    serving = open_store(path)  # the hub holds the file: the command says so, in one line
    try:
        held = salon("db", "upgrade")
    finally:
        serving.close()
    assert held.returncode == 1 and len(held.stderr.strip().splitlines()) == 1, held.stderr
