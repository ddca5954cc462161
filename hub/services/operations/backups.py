"""Backups while the hub serves, and restoring one into an empty data folder.

A backup is a folder on the hub's machine: a consistent copy of the database (one snapshot of
every table, taken while the hub goes on serving), the object store's files (written once,
never changed, and not deleted while a backup is taken: deletions are put off until it ends,
``hub.store.object_deletions``; so a copy made just after the snapshot holds every file it
names), the signing keys and the hub's own secrets, and ``salon-backup.json`` saying what it
is. It is written under ``NAME.part`` and renamed when complete: a backup that failed (a full
disk, an unwritable folder) leaves nothing that ``restore`` would take.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
from pathlib import Path

from hub import __version__
from hub.clock import now
from hub.errors import Forbidden, InvalidInput
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.store import Store

log = logging.getLogger("salon.backups")

MANIFEST = "salon-backup.json"
DATABASE = "salon.duckdb"
# What else of a data folder a backup takes: the objects, the keys, the hub's secrets and the
# audit checkpoint; not the database's own files (copied above), scratch or older backups.
LEFT_OUT = {"salon.duckdb", "salon.duckdb.wal", "tmp", "backups"}


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    folder: str
    salon: str
    migration: int
    created_at: str
    database_bytes: int
    files: int


async def backup(store: Store, data_dir: Path, principal: Principal, destination: str) -> Manifest:
    """Back the hub up into ``destination`` (an absolute path on the hub's machine, new or
    empty) without stopping it. Site admins only."""
    if not principal.is_admin:
        await audit.deny(store, principal, "hub.backup", "hub")
        raise Forbidden("Only site admins back the hub up.")
    target = Path(destination)
    if not target.is_absolute() or "\x00" in destination:
        raise InvalidInput(
            "Name the backup folder by its absolute path on the hub's machine.",
            field="destination",
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(
            f"{target} is not an empty folder; choose a new one.", field="destination"
        )
    if target.resolve().is_relative_to(data_dir.resolve()):
        raise InvalidInput("Keep backups outside the data folder.", field="destination")
    partial = target.with_name(target.name + ".part")
    try:
        shutil.rmtree(partial, ignore_errors=True)  # what an interrupted backup left
        partial.mkdir(parents=True)
        # Held from before the snapshot until its files are copied: every object the copy
        # of the database names is in the copy of the folder (deletions asked for meanwhile
        # are done as the hold ends).
        async with store.deletions.held():
            migration = await store.copy_database(partial / DATABASE)
            files = await asyncio.to_thread(_copy_files, data_dir, partial)
        size = (partial / DATABASE).stat().st_size
        manifest = Manifest(str(target), __version__, migration, now().isoformat(), size, files)
        (partial / MANIFEST).write_text(json.dumps(dataclasses.asdict(manifest), indent=2))
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except Exception as exc:  # a full disk, an unwritable folder, DuckDB refusing the file
        shutil.rmtree(partial, ignore_errors=True)
        await store.audit.record([audit.event(principal, "hub.backup", "hub", outcome="error")])
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]
        raise InvalidInput(
            f"The backup to {target} failed ({reason}); nothing was kept.", field="destination"
        ) from None
    await store.audit.record([audit.event(principal, "hub.backup", "hub", rows=files)])
    return manifest


def _copy_files(data_dir: Path, target: Path) -> int:
    copied = 0
    for item in sorted(data_dir.iterdir()):
        if item.name in LEFT_OUT:
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, copy_function=_copy_if_there)
            copied += sum(1 for path in (target / item.name).rglob("*") if path.is_file())
        elif _copy_if_there(item, target / item.name):
            copied += 1
    return copied


def _copy_if_there(source: str | Path, target: str | Path) -> str | Path | None:
    """``shutil.copy2``, skipping a file the hub removed since its folder was listed (a
    readiness probe's file, a key rotated away, a secret's staging file): the backup holds the
    folder as it was after. Objects are never among them while a backup holds deletions."""
    try:
        return shutil.copy2(source, target)
    except FileNotFoundError:
        log.info("Left out of the backup, removed while it was copied: %s", source)
        return None


def restore(source: Path, data_dir: Path) -> Manifest:
    """Fill the empty (or new) ``data_dir`` from the backup at ``source``; the hub must not
    be running there. The restored store is brought to this Salon's schema at its first
    start."""
    manifest_file = source / MANIFEST
    if not manifest_file.is_file() or not (source / DATABASE).is_file():
        raise InvalidInput(
            f"{source} is not a complete Salon backup (no {MANIFEST} with a database).",
            field="source",
        )
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InvalidInput(
            f"{data_dir} is not empty: restore into a new folder (SALON_DATA_DIR), so that "
            "nothing there is overwritten.",
            field="data_dir",
        )
    manifest = Manifest(**json.loads(manifest_file.read_text()))
    partial = data_dir.with_name(data_dir.name + ".restoring")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(MANIFEST))
        if data_dir.exists():
            data_dir.rmdir()
        partial.rename(data_dir)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise InvalidInput(
            f"Restoring into {data_dir} failed ({exc.strerror or exc}); nothing was kept.",
            field="data_dir",
        ) from None
    return manifest
