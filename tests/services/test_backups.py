"""Backups beside deletions, on both backends: an object purged while a backup is taken is still
in the backup whose database names it, the purge waits for the backup's copy rather than failing
it, and deletions asked for while deletions are held happen once they are let go."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.domain.lifecycle import Purged
from hub.services.data import dataset_uploads, datasets
from hub.services.lifecycle import trash
from hub.services.operations import backups
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store, open_store
from tests.services.helpers import person, run


def claims(store: Store, who: Principal, folder: Path, dataset: str) -> str:
    """A dataset of a few thousand insurance claims; the digest of its one object."""
    folder.mkdir(exist_ok=True)
    source = folder / f"{dataset}.csv"
    year = dataset.rsplit("-", 1)[1]
    lines = [
        f"C-{year}-{i},{(i * 37) % 900 + 10.5},{'open' if i % 3 else 'closed'}" for i in range(4000)
    ]
    source.write_text("claim_id,amount,status\n" + "\n".join(lines) + "\n")
    settings = Settings(data_dir=folder.parent)
    run(dataset_uploads.upload(store, settings, who, "claims", dataset, source, source.name))
    found = run(datasets.find(store, who, "claims", dataset))
    (version,) = run(datasets.versions(store, found))
    (stored,) = run(store.datasets.files(version.id))
    return stored.object_hash


def names_and_holds(backup: Path) -> tuple[set[str], set[str]]:
    """The objects the backup's database names, and those its folder holds."""
    opened = open_store(backup / backups.DATABASE, data_dir=backup)
    try:
        named = opened.referenced_objects_sync()
    finally:
        opened.close()
    held = {path.name.split(".", 1)[0] for path in (backup / "objects").glob("*/*")}
    return named, held


def test_a_purge_during_a_backup_waits_until_the_objects_are_copied(
    store: Store, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    admin = person(store, "root", is_admin=True)
    kept = claims(store, admin, tmp_path / "uploads", "claims-2025")
    doomed = claims(store, admin, tmp_path / "uploads", "claims-2026")
    found = run(datasets.find(store, admin, "claims", "claims-2026"))
    entry = run(trash.move_to_trash(store, admin, "dataset", found.dataset.id))
    destination = tmp_path_factory.mktemp("backups") / "monday"
    database_copy = destination.with_name("monday.part") / backups.DATABASE

    async def purge_while_backing_up() -> Purged:
        backing_up = asyncio.create_task(backups.backup(store, tmp_path, admin, str(destination)))
        while not database_copy.exists():  # the backup has begun copying the database
            await asyncio.sleep(0.001)
        purged = await trash.purge(store, admin, entry.id, recent=0)
        await backing_up
        return purged

    purged = run(purge_while_backing_up())
    assert purged.files == (doomed,)
    assert not store.objects.exists(doomed), "the purge deleted nothing once the backup ended"
    assert store.objects.exists(kept)
    named, held = names_and_holds(destination)
    assert kept in named
    assert named <= held, f"the backup names objects it lacks: {sorted(named - held)}"


def test_deletions_held_wait_and_happen_once_let_go(store: Store, tmp_path: Path) -> None:
    admin = person(store, "root", is_admin=True)
    doomed = claims(store, admin, tmp_path / "uploads", "claims-2026")
    found = run(datasets.find(store, admin, "claims", "claims-2026"))
    entry = run(trash.move_to_trash(store, admin, "dataset", found.dataset.id))

    async def purge_while_held() -> tuple[bool, bool, Purged]:
        async with store.deletions.held():
            purging = asyncio.create_task(trash.purge(store, admin, entry.id, recent=0))
            await asyncio.sleep(1.0)
            waited, still_there = not purging.done(), store.objects.exists(doomed)
        return waited, still_there, await purging

    waited, still_there, purged = run(purge_while_held())
    assert waited and still_there, "an object was deleted while deletions were held"
    assert purged.files == (doomed,) and not store.objects.exists(doomed)
    assert not store.deletions.holding and not store.deletions.deleting
