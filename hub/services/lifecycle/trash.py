"""The trash. Runs, experiments, projects, datasets and dataset versions, models and model
versions, pages, tasks and single files of runs can be moved there
(editors their own, maintainers anything; a project by its maintainers), disappear from every
list, search and feed with what they hold, and come back whole with restore. A maintainer may
purge an entry at once; the hub purges what stayed ``SALON_TRASH_DAYS``. Purging removes the
rows (metric points included) and the stored files no remaining row refers to."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import TRASH_KINDS, Purged, TrashEntry
from hub.domain.tracking import RunRecord
from hub.errors import Conflict, InvalidInput, NotFound
from hub.ids import new_id
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import MANAGE, READ, WRITE
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import artifacts
from hub.services.tracking.artifacts import check_path
from hub.store import Store

# A file stored again this recently is kept by a purge: an upload that found it in the store
# may not have recorded its rows yet (the next purge, or `salon gc`, takes it).
RECENT = 300.0


async def _find(
    store: Store, principal: Principal, kind: str, object_id: str
) -> tuple[TrashEntry, str]:
    """A new entry for the object and who made it, when it exists and the principal may read
    it; else NotFound (the denial audited)."""
    if kind not in TRASH_KINDS:
        raise InvalidInput(
            f"{kind!r} cannot be moved to the trash; choose one of {', '.join(TRASH_KINDS)}.",
            field="kind",
        )
    found = await store.trash.described(kind, object_id)
    noun = kind.replace("_", " ")
    if found is None or not await permissions.access_to(store, principal, found[0]):
        await audit.deny(store, principal, "trash.put", kind, object_id, None)
        raise permissions.not_found(noun, field="id")
    project_id, label, made_by = found
    entry = TrashEntry(new_id(), kind, object_id, project_id, label, principal.user_name, now())
    return entry, made_by


def _needed(kind: str, made_by: str, principal: Principal) -> str:
    """Editors may trash or restore what they made themselves (stored by name or by id);
    maintainers anything; a whole project only its maintainers."""
    own = made_by in (principal.user_name, principal.user_id)
    return WRITE if kind != "project" and own else MANAGE


async def move_to_trash(
    store: Store, principal: Principal, kind: str, object_id: str
) -> TrashEntry:
    """Hide the object and what it holds; an entry in its project's trash says so."""
    entry, made_by = await _find(store, principal, kind, object_id)
    await permissions.require(
        store,
        principal,
        entry.project_id,
        _needed(kind, made_by, principal),
        action="trash.put",
        object_kind=kind,
        object_id=object_id,
        what=kind.replace("_", " "),
    )
    noun = kind.replace("_", " ")
    events: list[EventDraft] = [
        audit.event(principal, "trash.put", kind, object_id, entry.project_id, rows=1),
        feed.entry(
            principal,
            "trash.put",
            "trash_entry",
            entry.id,
            entry.project_id,
            f"moved {noun} {entry.label} to the trash",
            detail={"kind": kind, "label": entry.label},
        ),
    ]
    return await audit.change(store, events, store.trash.put(entry, audit=events))


async def move_files(
    store: Store, principal: Principal, run_id: str, path: str
) -> list[TrashEntry]:
    """Move a run's file, or every file in one of its folders, to the trash, an entry each
    (MLflow's artifact delete names a path, which may be a folder); NotFound when the run has
    nothing there."""
    path = check_path(path).rstrip("/")
    found = [
        artifact.path
        for artifact in await artifacts.every_file(store, principal, "run", run_id)
        if artifact.path == path or artifact.path.startswith(f"{path}/")
    ]
    if not found:
        raise NotFound(f"The run has no file or folder {path!r}.", field="path")
    return [await move_to_trash(store, principal, "artifact", f"{run_id}/{p}") for p in found]


async def _entry(store: Store, principal: Principal, entry_id: str, action: str) -> TrashEntry:
    """The entry, when the principal may read its project; NotFound otherwise."""
    try:
        entry = await store.trash.entry(entry_id)
    except NotFound:
        await audit.deny(store, principal, action, "trash_entry", entry_id, None)
        raise
    await permissions.require(
        store,
        principal,
        entry.project_id,
        READ,
        action=action,
        object_kind="trash_entry",
        object_id=entry_id,
        what="trash entry",
    )
    return entry


async def restore(store: Store, principal: Principal, entry_id: str) -> TrashEntry:
    """Bring an entry's objects back as they were. The one who trashed it may (if they may
    still edit), and maintainers; Conflict while what holds it is in the trash."""
    entry = await _entry(store, principal, entry_id, "trash.restore")
    await permissions.require(
        store,
        principal,
        entry.project_id,
        _needed(entry.kind, entry.trashed_by, principal),
        action="trash.restore",
        object_kind=entry.kind,
        object_id=entry.object_id,
        what="trash entry",
    )
    noun = entry.kind.replace("_", " ")
    events: list[EventDraft] = [
        audit.event(principal, "trash.restore", entry.kind, entry.object_id, entry.project_id),
        feed.entry(
            principal,
            "trash.restore",
            entry.kind,
            entry.object_id,
            entry.project_id,
            f"restored {noun} {entry.label} from the trash",
        ),
    ]
    return await audit.change(store, events, store.trash.restore(entry_id, audit=events))


async def restore_object(
    store: Store, principal: Principal, kind: str, object_id: str
) -> TrashEntry | None:
    """Restore the entry that put this object in the trash (MLflow's ``restore_run`` and
    ``restore_experiment`` name the object, not the entry). An object that is not in the
    trash is left as it is (None); one that went with its experiment or project is
    Conflict, naming what to restore instead."""
    entry = await store.trash.hiding(kind, object_id)
    if entry is None:
        await _find(store, principal, kind, object_id)  # NotFound unless it exists for them
        return None
    if entry.object_id != object_id:
        await _entry(store, principal, entry.id, "trash.restore")
        noun = entry.kind.replace("_", " ")
        raise Conflict(
            f"This {kind.replace('_', ' ')} went to the trash with {noun} {entry.label}; "
            f"restore that.",
            field="id",
        )
    return await restore(store, principal, entry.id)


async def in_trash(store: Store, kind: str, object_ids: list[str]) -> set[str]:
    """Those of objects the caller was shown that are in the trash."""
    return await store.trash.hidden(kind, object_ids)


async def _in_trash(store: Store, principal: Principal, run_id: str) -> RunRecord | None:
    """The run, when it is in the trash and the principal may read its project."""
    run = (await store.runs.by_ids([run_id], trashed=True)).get(run_id)
    hidden = run is not None and await store.trash.hiding("run", run_id) is not None
    if (
        run is None
        or not hidden
        or not await permissions.access_to(store, principal, run.project_id)
    ):
        return None
    return run


async def trashed_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    """A run in the trash, for those who may read its project (MLflow shows deleted runs);
    NotFound otherwise, as for a run that does not exist."""
    run = await _in_trash(store, principal, run_id)
    if run is None:
        await audit.deny(store, principal, "run.read", "run", run_id, None)
        raise NotFound(f"No run with id {run_id!r}.", field="runId")
    await audit.read(store, principal, "run.read", "run", run.id, run.project_id, 1)
    return run


async def run_is_trashed(store: Store, principal: Principal, run_id: str) -> bool:
    """Whether the run a refused write named is in the trash (for those who may read its
    project), to say so rather than that it does not exist; the refusal was recorded."""
    return await _in_trash(store, principal, run_id) is not None


async def trash_of(
    store: Store, principal: Principal, project_ids: list[str] | None = None
) -> list[TrashEntry]:
    """Entries of the projects the principal reads (or of ``project_ids`` among them), a
    trashed project's own entry included; newest first."""
    having = set(await store.trash.projects())
    wanted = having if project_ids is None else having & set(project_ids)
    readable = await permissions.readable_projects(store, principal, wanted)
    entries = await store.trash.of_projects(sorted(readable))
    await audit.read(store, principal, "trash.read", "trash_entry", None, None, len(entries))
    return entries


async def purge(
    store: Store, principal: Principal, entry_id: str, *, recent: float = RECENT
) -> Purged:
    """Remove an entry's objects for good (maintainers); NotFound when another purge or a
    restore came first."""
    entry = await _entry(store, principal, entry_id, "trash.purge")
    await permissions.require(
        store,
        principal,
        entry.project_id,
        MANAGE,
        action="trash.purge",
        object_kind=entry.kind,
        object_id=entry.object_id,
        what="trash entry",
    )
    purged = await _purge(store, principal, [entry.id], recent)
    if not purged.entries:
        raise NotFound(f"{entry.label} is no longer in the trash: it was restored or purged.")
    return purged


async def _purge(
    store: Store,
    principal: Principal,
    entry_ids: list[str],
    recent: float,
    refuse_held: bool = True,
) -> Purged:
    def events(purged: Purged) -> list[EventDraft]:
        return [
            audit.event(
                principal,
                "trash.purge",
                entry.kind,
                entry.object_id,
                entry.project_id,
                rows=sum(count for _, count in entry.holds),
            )
            for entry in purged.entries
        ]

    purged = await store.trash.purge(entry_ids, audit=events, refuse_held=refuse_held)
    if purged.files and await store.deletions.remove(list(purged.files), recent) is None:
        return dataclasses.replace(purged, files_wait_for_backup=True)
    return purged


def expiry(days: int, at: datetime | None = None) -> datetime:
    """Entries trashed before this are due for purging."""
    return (at or now()) - timedelta(days=days)


async def purge_expired(
    store: Store, days: int, *, principal: Principal = SYSTEM, recent: float = RECENT
) -> Purged:
    """Purge every entry that stayed in the trash ``days`` days (by the hub itself, or an
    admin's ``salon gc``); those a legal hold covers stay, listed in ``held``."""
    due = await store.trash.older_than(expiry(days))
    return await _purge(store, principal, [entry.id for entry in due], recent, refuse_held=False)


async def due(store: Store, days: int) -> Purged:
    """What :func:`purge_expired` would remove now (``salon gc --dry-run``)."""
    entries = await store.trash.older_than(expiry(days))
    return await store.trash.would_purge([entry.id for entry in entries])
