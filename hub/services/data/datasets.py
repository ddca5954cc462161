"""Datasets: uploading versions, listing, previewing, downloading, describing columns.

A dataset belongs to a project and follows its roles; it can be restricted to groups
(``access.restrict``), and its PII-tagged columns are masked for anyone without the PII grant in
previews, profiles and downloads. Every preview and download is audited with its row count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from hub.clock import now
from hub.domain.data import ColumnNote, DatasetFile, DatasetRecord, DatasetVersionRecord
from hub.domain.tracking import ProjectRecord
from hub.errors import Conflict, InvalidInput, LimitExceeded, StoreUnavailable
from hub.run_filter import And, Filter, Not, Or, parse_filter
from hub.services.policy import access, audit, permissions
from hub.services.policy.limits import MAX_NOTES
from hub.services.policy.permissions import MANAGE, READ, Access
from hub.services.policy.principal import Principal
from hub.store import Store
from hub.store.objects import sha256_of
from hub.store.remote import RemoteError, RemoteMissing

KINDS = ("csv", "parquet")
MASK = "•••"
MAX_PREVIEW_ROWS = 500
MAX_MESSAGE = 2000


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """A column of a version: its type and profile, with the owners' description."""

    name: str
    type: str
    description: str
    pii: bool
    profile: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Rows:
    columns: list[str]
    rows: list[list[Any]]
    total: int
    masked: list[str]
    numbers: list[int]  # each row's number in the version (what annotations point at)


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """A dataset the principal may see, with the project and their access to it."""

    project: ProjectRecord
    dataset: DatasetRecord
    access: Access


@dataclasses.dataclass(frozen=True, slots=True)
class FoundProject:
    project: ProjectRecord
    access: Access


async def find(
    store: Store,
    principal: Principal,
    project_name: str,
    name: str,
    needed: str = READ,
    action: str = "dataset.read",
) -> Found:
    """The dataset, when the principal may see it and holds ``needed``; NotFound otherwise
    (a restricted dataset outside their groups does not exist for them)."""
    readable = await find_project(store, principal, project_name, action)
    project = readable.project
    dataset = await store.datasets.by_name(project.id, name)
    visible = dataset is not None and dataset.id in await access.visible_objects(
        store, principal, project.id, "dataset", [dataset.id], readable.access
    )
    if dataset is None or not visible:
        await audit.deny(store, principal, action, "dataset", None, project.id)
        raise permissions.not_found(f"dataset named {name!r} in {project_name!r}")
    held = await permissions.demand(
        store,
        principal,
        project.id,
        readable.access,
        needed,
        action=action,
        object_kind="dataset",
        object_id=dataset.id,
        what=f"dataset named {name!r}",
    )
    return Found(project, dataset, held)


async def find_project(
    store: Store, principal: Principal, project_name: str, action: str = "project.read"
) -> FoundProject:
    """The project with the principal's access to it, when they may read it (NotFound
    otherwise, the denial audited): one lookup of their roles for the whole request."""
    project = await store.projects.by_name(project_name)
    if project is None:
        await audit.deny(store, principal, action, "project")
        raise permissions.not_found(f"project named {project_name!r}")
    held = await permissions.access_to(store, principal, project.id)
    held = await permissions.demand(
        store,
        principal,
        project.id,
        held,
        READ,
        action=action,
        object_kind="project",
        object_id=project.id,
        what=f"project named {project_name!r}",
    )
    return FoundProject(project, held)


async def list_datasets(
    store: Store, principal: Principal, readable: FoundProject
) -> list[DatasetRecord]:
    """The project's datasets the principal may see, by name."""
    project = readable.project
    every = await store.datasets.of_projects([project.id])
    visible = await access.visible_objects(
        store, principal, project.id, "dataset", [d.id for d in every], readable.access
    )
    shown = [d for d in every if d.id in visible]
    await audit.read(
        store, principal, "datasets.list", "project", project.id, project.id, len(shown)
    )
    return shown


async def versions(store: Store, found: Found) -> list[DatasetVersionRecord]:
    return await store.datasets.versions([found.dataset.id])


async def version(store: Store, found: Found, number: int | None) -> DatasetVersionRecord:
    every = await versions(store, found)
    if not every:
        raise permissions.not_found(f"version of dataset {found.dataset.name!r}")
    if number is None:
        return every[0]
    for candidate in every:
        if candidate.number == number:
            return candidate
    raise permissions.not_found(f"version {number} of dataset {found.dataset.name!r}")


async def row_group_rows(store: Store, record: DatasetVersionRecord) -> int | None:
    """The most rows one row group of the version's stored objects holds; None until the hub
    has looked (``dataset_layout``), and for data registered in place."""
    files = await store.datasets.files(record.id)
    known = [f.row_group_rows for f in files if f.row_group_rows is not None]
    return max(known) if known and len(known) == len(files) else None


async def columns(store: Store, found: Found, record: DatasetVersionRecord) -> list[Column]:
    """Schema, profile and notes of a version; the profile of PII columns keeps only counts
    for those without the PII grant (no values, no extremes)."""
    notes = await store.datasets.notes(found.dataset.id)
    shown = []
    profile = record.profile
    for column in record.schema:
        name = column.name
        note = notes.get(name)
        pii = bool(note and note.pii)
        stats = dict(profile.get(name, {}))
        if pii and not permissions.can_see_pii(found.access):
            stats = {k: v for k, v in stats.items() if k in ("type", "nulls", "distinct")}
        shown.append(Column(name, column.type, note.description if note else "", pii, stats))
    return shown


def _order(order_by: list[str] | None, names: list[str]) -> list[tuple[str, bool]]:
    parsed = []
    for item in order_by or []:
        text = item.strip()
        descending = text.lower().endswith(" desc")
        name = (
            text[: -len(" desc")] if descending else text.removesuffix(" asc").removesuffix(" ASC")
        )
        if name not in names:
            raise InvalidInput(f"There is no column {name!r} to sort by.", field="orderBy")
        parsed.append((name, descending))
    return parsed


async def paths_of(store: Store, files: list[DatasetFile]) -> list[str]:
    """Where to read a version's files: stored objects, or data registered in place (a file
    or an S3 object), which must still be as it was when registered."""
    paths = []
    for f in files:
        if f.location is None:
            paths.append(store.objects.location(f.object_hash))
        elif f.location.startswith("s3://"):
            paths.append(await _unchanged_remote(store, f))
        else:
            paths.append(await _unchanged_local(f))
    return paths


def _gone(location: str) -> Conflict:
    return Conflict(f"The data registered at {location} is not there any more; register it again.")


def _changed(location: str, how: str) -> Conflict:
    return Conflict(
        f"The data at {location} changed after it was registered (its {how} differs); register "
        "it again as a new version."
    )


# Files whose content was hashed and found as registered, by what identifies that very file
# (device, inode, size, modification and change times): the change time cannot be set by
# anyone, so replacing or rewriting the file, or linking another in its place, is hashed again.
_verified: dict[tuple[str, int, int, int, int, int], None] = {}
_VERIFIED_KEEP = 4096


async def _unchanged_local(f: DatasetFile) -> str:
    """The registered file's path, when it is still the very file registered: the path leads
    to it without any link (registration stored the resolved path inside SALON_DATASET_ROOTS),
    and its size, time and SHA-256 are as recorded."""
    assert f.location is not None
    try:
        status = os.stat(f.location, follow_symlinks=False)
        real = os.path.realpath(f.location, strict=True)
    except (OSError, ValueError):
        raise _gone(f.location) from None
    if real != f.location or not stat.S_ISREG(status.st_mode):
        raise _changed(f.location, "path, which now leads elsewhere through a link")
    if status.st_size != f.size_bytes or status.st_mtime != f.source_mtime:
        raise _changed(f.location, "size or time")
    identity = (
        f.location,
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )
    if identity not in _verified:
        if await asyncio.to_thread(sha256_of, Path(f.location)) != f.object_hash:
            raise _changed(f.location, "content (SHA-256)")
        if len(_verified) >= _VERIFIED_KEEP:
            _verified.pop(next(iter(_verified)))
        _verified[identity] = None
    return f.location


async def _unchanged_remote(store: Store, f: DatasetFile) -> str:
    assert f.location is not None
    if store.s3 is None:
        raise Conflict(
            f"The data at {f.location} is in S3, and this hub has no S3 prefix in "
            "SALON_DATASET_ROOTS any more."
        )
    try:
        current = await asyncio.to_thread(store.s3.head, f.location)
    except RemoteMissing:
        raise _gone(f.location) from None
    except RemoteError as exc:
        raise StoreUnavailable(str(exc)) from None
    if current.etag != f.source_etag or current.size != f.size_bytes:
        raise _changed(f.location, "checksum (ETag)")
    return f.location


async def masked_columns(store: Store, found: Found) -> set[str]:
    if permissions.can_see_pii(found.access):
        return set()
    return {n for n, note in (await store.datasets.notes(found.dataset.id)).items() if note.pii}


def fields_of(node: Filter | None) -> set[str]:
    """The columns a filter names."""
    if node is None:
        return set()
    if isinstance(node, And | Or):
        return set().union(*(fields_of(item) for item in node.items))
    if isinstance(node, Not):
        return fields_of(node.item)
    return {node.field.key}


async def preview(
    store: Store,
    principal: Principal,
    found: Found,
    record: DatasetVersionRecord,
    offset: int,
    limit: int,
    order_by: list[str] | None,
    filter_text: str | None = None,
) -> Rows:
    """A page of rows matching the filter (the run filter language over the columns, e.g.
    ``temperature_c > 40 and line = 'A'``), sorted as asked; PII columns masked for those
    without the grant, who may not filter or sort by them either (that would reveal them)."""
    if not 0 <= limit <= MAX_PREVIEW_ROWS or offset < 0:
        raise LimitExceeded(f"Ask for 0 to {MAX_PREVIEW_ROWS} rows from offset 0 or more.")
    names = [c.name for c in record.schema]
    order = _order(order_by, names)
    where = parse_filter(filter_text, names)
    masked = await masked_columns(store, found)
    hidden = (fields_of(where) | {name for name, _ in order}) & masked
    if hidden:
        raise InvalidInput(
            f"{', '.join(sorted(hidden))} holds personal data: filtering or sorting by it needs "
            "the PII right on this project.",
            field="filter",
        )
    files = await store.datasets.files(record.id)
    found_rows, total = await store.datasets.rows(
        await paths_of(store, files), names, where, order, offset, limit, record.row_count
    )
    positions = [i for i, n in enumerate(names) if n in masked]
    rows, numbers = [], []
    for row in found_rows:
        values = [plain(v) for v in row[:-1]]
        for i in positions:
            values[i] = MASK if values[i] is not None else None
        rows.append(values)
        numbers.append(int(row[-1]))
    await audit.read(
        store,
        principal,
        "dataset.preview",
        "dataset",
        found.dataset.id,
        found.project.id,
        len(rows),
    )
    return Rows(names, rows, total, sorted(masked), numbers)


def plain(value: Any) -> Any:
    """A value JSON can carry."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


async def download(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord
) -> AsyncIterator[pa.RecordBatch]:
    """Every row as Arrow record batches, PII columns masked for those without the grant."""
    files = await store.datasets.files(record.id)
    masked = await masked_columns(store, found)
    await audit.read(
        store,
        principal,
        "dataset.download",
        "dataset",
        found.dataset.id,
        found.project.id,
        record.row_count,
    )
    batches = store.datasets.batches(await paths_of(store, files))
    if not masked:
        return batches
    return _mask_batches(batches, masked)


async def _mask_batches(
    batches: AsyncIterator[pa.RecordBatch], masked: set[str]
) -> AsyncIterator[pa.RecordBatch]:
    async for batch in batches:
        arrays = [
            pa.array([None if v is None else MASK for v in column.to_pylist()], pa.string())
            if name in masked
            else column
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]
        yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


async def describe_column(
    store: Store,
    principal: Principal,
    found: Found,
    column: str,
    description: str,
    pii: bool | None,
) -> ColumnNote:
    """Owners (editors and up) describe columns; tagging or untagging PII needs a maintainer."""
    latest = await version(store, found, None)
    if column not in [c.name for c in latest.schema]:
        raise InvalidInput(
            f"Dataset {found.dataset.name!r} has no column {column!r}.", field="column"
        )
    if len(description) > MAX_NOTES:
        raise LimitExceeded(f"Descriptions are limited to {MAX_NOTES} characters.")
    current = (await store.datasets.notes(found.dataset.id)).get(column)
    tagged = current.pii if current else False
    wants_pii = tagged if pii is None else pii
    if wants_pii != tagged:
        await permissions.require(
            store,
            principal,
            found.project.id,
            MANAGE,
            action="dataset.tag_pii",
            object_kind="dataset",
            object_id=found.dataset.id,
        )
    note = ColumnNote(found.dataset.id, column, description, wants_pii, principal.user_name, now())
    events = [
        audit.event(
            principal,
            "dataset.describe_column",
            "dataset",
            found.dataset.id,
            found.project.id,
            rows=1,
        )
    ]
    return await store.datasets.set_note(note, audit=events)
