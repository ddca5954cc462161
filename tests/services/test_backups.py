"""Backups beside deletions, on both backends: an object purged while a backup is taken is still
in the backup whose database names it; the purge answers at once, and the object is deleted
once the backup has copied the files (deletions put off while held are done as it lets go); a
`salon gc` sweep put off asks again then what is referenced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.domain.lifecycle import Purged
from hub.services.data import dataset_uploads, datasets
from hub.services.lifecycle import garbage, trash
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


def test_an_object_purged_during_a_backup_is_in_it_and_deleted_after(
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
    assert not store.objects.exists(doomed), "the purge's file was not deleted after the backup"
    assert store.objects.exists(kept)
    assert store.deletions.put_off == 0
    named, held = names_and_holds(destination)
    assert kept in named
    assert named <= held, f"the backup names objects it lacks: {sorted(named - held)}"


def test_deletions_asked_for_while_held_are_done_once_let_go(store: Store, tmp_path: Path) -> None:
    admin = person(store, "root", is_admin=True)
    doomed = claims(store, admin, tmp_path / "uploads", "claims-2026")
    kept = claims(store, admin, tmp_path / "uploads", "claims-2025")
    found = run(datasets.find(store, admin, "claims", "claims-2026"))
    entry = run(trash.move_to_trash(store, admin, "dataset", found.dataset.id))

    async def purge_while_held() -> tuple[Purged, bool, int]:
        async with store.deletions.held(), store.deletions.held():  # two backups at once
            purged = await trash.purge(store, admin, entry.id, recent=0)
            still_there = store.objects.exists(doomed)
            waiting = store.deletions.put_off
        return purged, still_there, waiting

    purged, still_there, waiting = run(purge_while_held())
    assert purged.files == (doomed,) and purged.files_wait_for_backup
    assert still_there and waiting == 1, "an object was deleted while deletions were held"
    assert not store.objects.exists(doomed), "the put-off deletion was not done once let go"
    assert store.objects.exists(kept)
    assert not store.deletions.holding and not store.deletions.deleting
    assert store.deletions.put_off == 0


def test_a_garbage_sweep_while_held_is_done_later_and_keeps_what_was_uploaded_since(
    store: Store, tmp_path: Path
) -> None:
    """`salon gc` during a backup: the orphan stays until the backup ends; the sweep then asks
    again what is referenced, so a dataset uploaded in between keeps its object."""
    admin = person(store, "root", is_admin=True)
    kept = claims(store, admin, tmp_path / "uploads", "claims-2025")
    leftover = tmp_path / "leftover.parquet"  # what an upload cut off would leave
    leftover.write_bytes(b"PAR1 half an upload")
    orphan, _ = store.objects.put(leftover)

    async def collect_then_upload_while_held() -> tuple[garbage.Garbage, bool, str]:
        async with store.deletions.held():
            found = await garbage.collect(store, admin, 30, dry_run=False, recent=0)
            still_there = store.objects.exists(orphan)
            uploaded = await asyncio.to_thread(
                claims, store, admin, tmp_path / "uploads", "claims-2026"
            )
        return found, still_there, uploaded

    found, still_there, uploaded = run(collect_then_upload_while_held())
    assert found.orphans == 1 and found.files_wait_for_backup
    assert still_there, "the sweep deleted while deletions were held"
    assert not store.objects.exists(orphan), "the put-off sweep did not run"
    assert store.objects.exists(kept)
    assert store.objects.exists(uploaded), "the put-off sweep deleted an object uploaded since"
    again = run(garbage.collect(store, admin, 30, dry_run=False, recent=0))
    assert again.orphans == 0 and not again.files_wait_for_backup


def test_a_file_removed_while_the_folder_is_copied_is_left_out_not_a_failure(
    store: Store, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The hub writes and removes small files of its own while it serves (readiness probes in
    the objects folder, keys rotated away): one listed and then gone is left out of the backup
    rather than failing it. A link to nothing stands for such a file: listed, then not found."""
    admin = person(store, "root", is_admin=True)
    kept = claims(store, admin, tmp_path / "uploads", "claims-2025")
    (tmp_path / "objects" / ".ready-gone").symlink_to(tmp_path / "nowhere")
    (tmp_path / "gone-too").symlink_to(tmp_path / "nowhere")
    destination = tmp_path_factory.mktemp("backups") / "tuesday"
    made = run(backups.backup(store, tmp_path, admin, str(destination)))
    assert made.files >= 1
    named, held = names_and_holds(destination)
    assert kept in named and named <= held
    assert not (destination / "objects" / ".ready-gone").exists()
    assert not (destination / "gone-too").exists()
