"""Files logged with a run or a logged model (MLflow's ``log_artifact``), kept once by content
in the object store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path, PurePosixPath

from hub.clock import now
from hub.domain.tracking import ArtifactRecord
from hub.errors import InvalidInput, NotFound
from hub.services.policy import audit, permissions
from hub.services.policy.permissions import READ, WRITE
from hub.services.policy.principal import Principal
from hub.services.tracking import logged_models, runs
from hub.store import Store

OWNER_KINDS = ("run", "logged_model")
MAX_PATH = 1000


def check_path(path: str, allow_empty: bool = False) -> str:
    """A relative path inside the owner's files, '/'-separated, with no '..' or odd parts."""
    path = path.strip("/")
    if not path and allow_empty:
        return ""
    parts = PurePosixPath(path).parts
    if (
        not path
        or len(path) > MAX_PATH
        or any(part in (".", "..") for part in parts)
        or "\\" in path
        or any(ord(ch) < 32 for ch in path)
    ):
        raise InvalidInput(
            f"{path[:80]!r} is not an artifact path: use a relative path of up to {MAX_PATH} "
            "characters without '..' or control characters.",
            field="path",
        )
    return "/".join(parts)


async def _owner_project(
    store: Store, principal: Principal, kind: str, owner_id: str, needed: str, action: str
) -> str:
    """The project of the run or logged model, if the caller holds ``needed`` there."""
    if kind == "run":
        if needed == WRITE:
            return (await runs.writable_run(store, principal, owner_id, action)).project_id
        return (await runs.visible_runs(store, principal, [owner_id], action))[0].project_id
    if kind == "logged_model":
        if needed == WRITE:
            return (await logged_models.writable(store, principal, owner_id)).project_id
        model = (await store.logged_models.by_ids([owner_id])).get(owner_id)
        if model is not None:
            await permissions.require(
                store,
                principal,
                model.project_id,
                READ,
                action=action,
                object_kind=kind,
                object_id=owner_id,
            )
            return model.project_id
    raise NotFound(f"No {kind.replace('_', ' ')} with id {owner_id!r}.")


async def upload(
    store: Store,
    principal: Principal,
    kind: str,
    owner_id: str,
    path: str,
    receive: Callable[[Path], Awaitable[str | None]],
) -> ArtifactRecord:
    """Store one file: rights are checked before a byte is read; ``receive`` writes the body
    into the scratch file it is given (within the size limit) and returns the SHA-256 of the
    bytes when it hashed them as they came (None: the file is read again to hash it)."""
    path = check_path(path)
    project_id = await _owner_project(store, principal, kind, owner_id, WRITE, "artifact.upload")
    scratch = store.scratch / f"artifact-{uuid.uuid4().hex}"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        known = await receive(scratch)
        digest, size = await asyncio.to_thread(store.objects.put, scratch, "", known)
    finally:
        scratch.unlink(missing_ok=True)
    record = ArtifactRecord(kind, owner_id, path, digest, size, principal.user_name, now())
    events = [audit.event(principal, "artifact.upload", kind, owner_id, project_id, rows=1)]
    return await store.artifacts.put(record, audit=events)


async def listing(
    store: Store, principal: Principal, kind: str, owner_id: str, folder: str
) -> tuple[list[ArtifactRecord], list[str]]:
    """The files directly in ``folder`` and the names of its sub-folders."""
    folder = check_path(folder, allow_empty=True)
    project_id = await _owner_project(store, principal, kind, owner_id, READ, "artifact.list")
    prefix = f"{folder}/" if folder else ""
    files, folders = [], set()
    for artifact in await store.artifacts.under(kind, owner_id, prefix):
        rest = artifact.path[len(prefix) :]
        if "/" in rest:
            folders.add(rest.split("/", 1)[0])
        else:
            files.append(artifact)
    await audit.read(store, principal, "artifact.list", kind, owner_id, project_id, len(files))
    return files, sorted(folders)


async def every_file(
    store: Store, principal: Principal, kind: str, owner_id: str
) -> list[ArtifactRecord]:
    """Every file of the run or logged model, by path."""
    project_id = await _owner_project(store, principal, kind, owner_id, READ, "artifact.list")
    found = await store.artifacts.under(kind, owner_id)
    await audit.read(store, principal, "artifact.list", kind, owner_id, project_id, len(found))
    return found


async def open_file(
    store: Store, principal: Principal, kind: str, owner_id: str, path: str
) -> tuple[ArtifactRecord, Iterator[bytes]]:
    """The file's record and its bytes, a megabyte at a time (read as they are taken)."""
    path = check_path(path)
    project_id = await _owner_project(store, principal, kind, owner_id, READ, "artifact.read")
    artifact = await store.artifacts.one(kind, owner_id, path)
    if artifact is None:
        raise NotFound(f"No artifact at {path!r}.", field="path")
    await audit.read(store, principal, "artifact.read", kind, owner_id, project_id, 1)
    return artifact, store.objects.chunks(artifact.digest, "")
