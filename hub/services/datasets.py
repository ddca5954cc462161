"""Datasets: uploading versions, listing, previewing, downloading, describing columns.

A dataset belongs to a project and follows its roles; it can be restricted to groups
(``access.restrict``), and its PII-tagged columns are masked for anyone without the PII grant in
previews, profiles and downloads. Every preview and download is audited with its row count.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from hub.clock import now
from hub.errors import Conflict, InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.run_filter import And, Filter, Not, Or, parse_filter
from hub.services import access, audit, permissions, projects
from hub.services.limits import MAX_NOTES, check_name
from hub.services.permissions import MANAGE, READ, WRITE, Access
from hub.services.principal import Principal
from hub.settings import Settings
from hub.store import Store
from hub.store.datasets import ConversionError, convert
from hub.store.records import (
    Annotation,
    ColumnNote,
    DatasetFile,
    DatasetRecord,
    DatasetVersionRecord,
    ProjectRecord,
)

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


def kind_of(filename: str, given: str | None) -> str:
    kind = (given or Path(filename).suffix.lstrip(".")).lower()
    if kind not in KINDS:
        raise InvalidInput(
            f"Upload a .csv or .parquet file (got {Path(filename).name!r}); name the format "
            "with ?format=csv or ?format=parquet otherwise.",
            field="format",
        )
    return kind


async def find(
    store: Store, principal: Principal, project_name: str, name: str, needed: str = READ,
    action: str = "dataset.read",
) -> Found:  # fmt: skip
    """The dataset, when the principal may see it and holds ``needed``; NotFound otherwise
    (a restricted dataset outside their groups does not exist for them)."""
    project = await projects.visible_project(store, principal, project_name)
    dataset = await store.datasets.by_name(project.id, name)
    visible = dataset is not None and dataset.id in await access.visible_objects(
        store, principal, project.id, "dataset", [dataset.id]
    )
    if dataset is None or not visible:
        await audit.deny(store, principal, action, "dataset", None, project.id)
        raise permissions.not_found(f"dataset named {name!r} in {project_name!r}")
    held = await permissions.require(
        store, principal, project.id, needed, action=action, object_kind="dataset",
        object_id=dataset.id, what=f"dataset named {name!r}",
    )  # fmt: skip
    return Found(project, dataset, held)


@dataclasses.dataclass(frozen=True, slots=True)
class FoundProject:
    project: ProjectRecord
    access: Access


async def find_project(store: Store, principal: Principal, project_name: str) -> FoundProject:
    """The project, when the principal may read it (NotFound otherwise)."""
    project = await projects.visible_project(store, principal, project_name)
    held = await permissions.access_to(store, principal, project.id)
    assert held is not None
    return FoundProject(project, held)


async def list_datasets(
    store: Store, principal: Principal, project: ProjectRecord
) -> list[DatasetRecord]:
    """The project's datasets the principal may see, by name."""
    await permissions.require(
        store, principal, project.id, READ, action="datasets.list", object_kind="project",
        object_id=project.id,
    )  # fmt: skip
    every = await store.datasets.of_projects([project.id])
    visible = await access.visible_objects(
        store, principal, project.id, "dataset", [d.id for d in every]
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


async def columns(store: Store, found: Found, record: DatasetVersionRecord) -> list[Column]:
    """Schema, profile and notes of a version; the profile of PII columns keeps only counts
    for those without the PII grant (no values, no extremes)."""
    notes = await store.datasets.notes(found.dataset.id)
    shown = []
    profile = json.loads(record.profile_json)
    for column in json.loads(record.schema_json):
        name = column["name"]
        note = notes.get(name)
        pii = bool(note and note.pii)
        stats = dict(profile.get(name, {}))
        if pii and not permissions.can_see_pii(found.access):
            stats = {k: v for k, v in stats.items() if k in ("type", "nulls", "distinct")}
        shown.append(Column(name, column["type"], note.description if note else "", pii, stats))
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


def _paths(store: Store, files: list[DatasetFile]) -> list[str]:
    """Where to read a version's files: stored objects, or files registered in place, which
    must still be as they were when registered."""
    paths = []
    for f in files:
        if f.location is None:
            paths.append(str(store.objects.path(f.object_hash)))
            continue
        source = Path(f.location)
        try:
            status = source.stat()
        except OSError:
            raise Conflict(
                f"The data registered at {source} is not there any more; register it again."
            ) from None
        if status.st_size != f.size_bytes or status.st_mtime != f.source_mtime:
            raise Conflict(
                f"The data at {source} changed after it was registered (its size or time "
                "differs); register it again as a new version."
            )
        paths.append(str(source))
    return paths


async def _masked(store: Store, found: Found) -> set[str]:
    if permissions.can_see_pii(found.access):
        return set()
    return {n for n, note in (await store.datasets.notes(found.dataset.id)).items() if note.pii}


def _fields(node: Filter | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, And | Or):
        return set().union(*(_fields(item) for item in node.items))
    if isinstance(node, Not):
        return _fields(node.item)
    return {node.field.key}


async def preview(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord,
    offset: int, limit: int, order_by: list[str] | None, filter_text: str | None = None,
) -> Rows:  # fmt: skip
    """A page of rows matching the filter (the run filter language over the columns, e.g.
    ``temperature_c > 40 and line = 'A'``), sorted as asked; PII columns masked for those
    without the grant, who may not filter or sort by them either (that would reveal them)."""
    if not 0 <= limit <= MAX_PREVIEW_ROWS or offset < 0:
        raise LimitExceeded(f"Ask for 0 to {MAX_PREVIEW_ROWS} rows from offset 0 or more.")
    names = [c["name"] for c in json.loads(record.schema_json)]
    order = _order(order_by, names)
    where = parse_filter(filter_text, names)
    masked = await _masked(store, found)
    hidden = (_fields(where) | {name for name, _ in order}) & masked
    if hidden:
        raise InvalidInput(
            f"{', '.join(sorted(hidden))} holds personal data: filtering or sorting by it needs "
            "the PII right on this project.",
            field="filter",
        )
    files = await store.datasets.files(record.id)
    found_rows, total = await store.datasets.rows(
        _paths(store, files), names, where, order, offset, limit
    )
    positions = [i for i, n in enumerate(names) if n in masked]
    rows, numbers = [], []
    for row in found_rows:
        values = [_plain(v) for v in row[:-1]]
        for i in positions:
            values[i] = MASK if values[i] is not None else None
        rows.append(values)
        numbers.append(int(row[-1]))
    await audit.read(
        store, principal, "dataset.preview", "dataset", found.dataset.id, found.project.id,
        len(rows),
    )  # fmt: skip
    return Rows(names, rows, total, sorted(masked), numbers)


def _plain(value: Any) -> Any:
    """A value JSON can carry."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


async def download(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord
) -> AsyncIterator[pa.RecordBatch]:
    """Every row as Arrow record batches, PII columns masked for those without the grant."""
    files = await store.datasets.files(record.id)
    masked = await _masked(store, found)
    await audit.read(
        store, principal, "dataset.download", "dataset", found.dataset.id, found.project.id,
        record.row_count,
    )  # fmt: skip
    batches = store.datasets.batches(_paths(store, files))
    if not masked:
        return batches  # type: ignore[no-any-return]
    return _mask_batches(batches, masked)


async def _mask_batches(
    batches: AsyncIterator[pa.RecordBatch], masked: set[str]
) -> AsyncIterator[pa.RecordBatch]:
    async for batch in batches:
        arrays = [
            pa.array([None if v is None else MASK for v in column.to_pylist()], pa.string())
            if name in masked else column
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]  # fmt: skip
        yield pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


async def upload(
    store: Store,
    settings: Settings,
    principal: Principal,
    project_name: str,
    name: str,
    source: Path,
    filename: str,
    kind: str | None = None,
    message: str = "",
) -> tuple[DatasetVersionRecord, bool]:
    """Make a new version of the dataset (creating the dataset, and the project, when new)
    from an uploaded file. The file is parsed in a separate process with limits; identical
    content to the latest version is recognised and not stored twice (the flag is False)."""
    kind = kind_of(filename, kind)
    name = check_name(name, "dataset")
    if len(message) > MAX_MESSAGE:
        raise LimitExceeded(f"The message is limited to {MAX_MESSAGE} characters.", field="message")
    project = await projects.ensure_project(store, principal, project_name)
    dataset = await store.datasets.by_name(project.id, name)
    if dataset is None:
        await permissions.require(
            store, principal, project.id, WRITE, action="dataset.create", object_kind="dataset",
            what=f"project named {project_name!r}",
        )  # fmt: skip
        record = DatasetRecord(new_id(), project.id, name, "", now(), principal.user_name)
        events = [
            audit.event(principal, "dataset.create", "dataset", record.id, project.id, rows=1)
        ]
        dataset = await store.datasets.create(record, audit=events)
    found = await find(store, principal, project_name, name, WRITE, "dataset.upload")
    return await _store_version(
        store, settings, principal, found, source, kind, filename, message, None,
        "dataset.upload",
    )  # fmt: skip


async def _store_version(
    store: Store, settings: Settings, principal: Principal, found: Found, source: Path,
    kind: str, filename: str, message: str, parent_id: str | None, action: str,
) -> tuple[DatasetVersionRecord, bool]:  # fmt: skip
    """Parse ``source`` in the worker, store its object once, and record the version."""
    project = found.project
    scratch = settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{new_id()}.parquet"
    try:
        converted = await convert(
            source, kind, target, memory_mb=settings.dataset_worker_memory_mb,
            seconds=settings.dataset_worker_seconds, output_bytes=settings.max_dataset_bytes * 4,
        )  # fmt: skip
    except ConversionError as exc:
        target.unlink(missing_ok=True)
        failed = audit.event(
            principal, action, "dataset", found.dataset.id, project.id, outcome="error"
        )
        await store.audit.record([failed])
        raise InvalidInput(f"{Path(filename).name}: {exc}", field="file") from None
    digest, size = store.objects.put(target)
    files = [DatasetFile(digest, converted.rows, size)]
    content = hashlib.sha256(json.dumps([digest]).encode()).hexdigest()
    draft = DatasetVersionRecord(
        new_id(), found.dataset.id, project.id, 0, parent_id, principal.user_name, message,
        now(), content, converted.rows, size, json.dumps(converted.schema),
        json.dumps(converted.profile), Path(filename).name[:255],
    )  # fmt: skip
    events = [audit.event(principal, action, "dataset", found.dataset.id, project.id,
                          rows=converted.rows)]  # fmt: skip
    return await store.datasets.add_version(draft, files, audit=events)


# Registering data in place ------------------------------------------------------------------


def _inside_roots(settings: Settings, text: str) -> Path:
    """The file at ``text``, resolved (symlinks followed), when it lies inside one of the
    folders Salon may read (``SALON_DATASET_ROOTS``)."""
    roots = [Path(r).resolve() for r in settings.dataset_roots.split(",") if r.strip()]
    if not roots:
        raise InvalidInput(
            "Registering data in place is off on this hub; upload the file, or ask an admin "
            "to list the folder in SALON_DATASET_ROOTS.",
            field="path",
        )
    try:
        path = Path(text).resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidInput(f"There is no file at {text!r} on the hub.", field="path") from None
    if not any(path.is_relative_to(root) for root in roots):
        raise InvalidInput(
            f"{text!r} is not inside a folder this hub may read ({', '.join(map(str, roots))}).",
            field="path",
        )
    if not path.is_file() or path.suffix.lower() != ".parquet":
        raise InvalidInput(
            "Register a Parquet file in place; upload CSV files instead.", field="path"
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def register(
    store: Store, settings: Settings, principal: Principal, project_name: str, name: str,
    path_text: str, message: str = "",
) -> tuple[DatasetVersionRecord, bool]:  # fmt: skip
    """A new version made of a Parquet file that stays where it is (a folder listed in
    ``SALON_DATASET_ROOTS``). Its checksum, size and time are recorded; if the file changes
    later, reading the version says so instead of showing other data."""
    path = _inside_roots(settings, path_text)
    status = path.stat()
    digest = await asyncio.to_thread(_sha256, path)
    name = check_name(name, "dataset")
    project = await projects.ensure_project(store, principal, project_name)
    if await store.datasets.by_name(project.id, name) is None:
        await permissions.require(
            store, principal, project.id, WRITE, action="dataset.create", object_kind="dataset",
            what=f"project named {project_name!r}",
        )  # fmt: skip
        record = DatasetRecord(new_id(), project.id, name, "", now(), principal.user_name)
        event = audit.event(principal, "dataset.create", "dataset", record.id, project.id, rows=1)
        await store.datasets.create(record, audit=[event])
    found = await find(store, principal, project_name, name, WRITE, "dataset.register")
    scratch = settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    profiled = scratch / f"{new_id()}.parquet"
    try:
        converted = await convert(
            path, "parquet", profiled, memory_mb=settings.dataset_worker_memory_mb,
            seconds=settings.dataset_worker_seconds, output_bytes=settings.max_dataset_bytes * 4,
        )  # fmt: skip
    except ConversionError as exc:
        raise InvalidInput(f"{path.name}: {exc}", field="path") from None
    finally:
        profiled.unlink(missing_ok=True)  # only the profile was wanted: the data stays put
    files = [DatasetFile(digest, converted.rows, status.st_size, str(path), status.st_mtime)]
    content = hashlib.sha256(json.dumps([digest]).encode()).hexdigest()
    draft = DatasetVersionRecord(
        new_id(), found.dataset.id, project.id, 0, None, principal.user_name, message, now(),
        content, converted.rows, status.st_size, json.dumps(converted.schema),
        json.dumps(converted.profile), str(path),
    )  # fmt: skip
    events = [audit.event(principal, "dataset.register", "dataset", found.dataset.id,
                          project.id, rows=converted.rows)]  # fmt: skip
    return await store.datasets.add_version(draft, files, audit=events)


# Annotations --------------------------------------------------------------------------------

MAX_ANNOTATIONS_PER_CALL = 1000
MAX_LABEL = 200
MAX_ANNOTATION_NOTE = 4000


@dataclasses.dataclass(frozen=True, slots=True)
class NewAnnotation:
    row_number: int
    label: str | None = None
    note: str | None = None
    vote: int | None = None


async def annotate(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord,
    items: list[NewAnnotation],
) -> int:  # fmt: skip
    """Label, note or vote on rows of a version (commenters and up); attributed and dated."""
    if not 1 <= len(items) <= MAX_ANNOTATIONS_PER_CALL:
        raise LimitExceeded(f"Send 1 to {MAX_ANNOTATIONS_PER_CALL} annotations at a time.")
    stamped = []
    at = now()
    for item in items:
        if not 0 <= item.row_number < record.row_count:
            raise InvalidInput(
                f"Row {item.row_number} is not in version {record.number} "
                f"(rows 0 to {record.row_count - 1}).",
                field="row",
            )
        if item.vote not in (None, -1, 0, 1):
            raise InvalidInput("A vote is 1 (thumbs up), -1 (thumbs down) or 0.", field="vote")
        if item.label is not None and len(item.label) > MAX_LABEL:
            raise LimitExceeded(f"Labels are limited to {MAX_LABEL} characters.", field="label")
        if item.note is not None and len(item.note) > MAX_ANNOTATION_NOTE:
            raise LimitExceeded(
                f"Notes are limited to {MAX_ANNOTATION_NOTE} characters.", field="note"
            )
        vote = None if item.vote == 0 else item.vote
        stamped.append(
            Annotation(item.row_number, item.label, item.note, vote, principal.user_name, at)
        )
    events = [audit.event(principal, "dataset.annotate", "dataset", found.dataset.id,
                          found.project.id, rows=len(stamped))]  # fmt: skip
    return await store.datasets.annotate(record.id, found.dataset.id, stamped, audit=events)


async def version_annotations(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord
) -> list[Annotation]:
    found_items = await store.datasets.annotations(record.id)
    await audit.read(
        store, principal, "dataset.annotations", "dataset", found.dataset.id, found.project.id,
        len(found_items),
    )  # fmt: skip
    return found_items


async def publish_annotations(
    store: Store, settings: Settings, principal: Principal, found: Found,
    record: DatasetVersionRecord, message: str,
) -> tuple[DatasetVersionRecord, bool]:  # fmt: skip
    """A new version whose parent is ``record``: its rows with the latest annotations as the
    columns ``label``, ``annotation_note`` and ``vote`` (editors and up)."""
    if not await store.datasets.annotations(record.id):
        raise InvalidInput(f"Version {record.number} has no annotations to publish.")
    names = [c["name"] for c in json.loads(record.schema_json)]
    files = await store.datasets.files(record.id)
    scratch = settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    merged = scratch / f"{new_id()}.parquet"
    try:
        await store.datasets.write_annotated(_paths(store, files), record.id, names, merged)
        return await _store_version(
            store, settings, principal, found, merged, "parquet",
            f"annotations of version {record.number}", message, record.id, "dataset.publish",
        )  # fmt: skip
    finally:
        merged.unlink(missing_ok=True)


async def describe_column(
    store: Store, principal: Principal, found: Found, column: str, description: str,
    pii: bool | None,
) -> ColumnNote:  # fmt: skip
    """Owners (editors and up) describe columns; tagging or untagging PII needs a maintainer."""
    latest = await version(store, found, None)
    if column not in [c["name"] for c in json.loads(latest.schema_json)]:
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
            store, principal, found.project.id, MANAGE, action="dataset.tag_pii",
            object_kind="dataset", object_id=found.dataset.id,
        )  # fmt: skip
    note = ColumnNote(found.dataset.id, column, description, wants_pii, principal.user_name, now())
    events = [audit.event(principal, "dataset.describe_column", "dataset", found.dataset.id,
                          found.project.id, rows=1)]  # fmt: skip
    return await store.datasets.set_note(note, audit=events)


# Comparing two versions -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnShift:
    """How one column common to both versions moved, from their profiles."""

    name: str
    type: str
    nulls_before: int
    nulls_after: int
    distinct_before: int | None
    distinct_after: int | None
    mean_before: float | None
    mean_after: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    before: int
    after: int
    rows_before: int
    rows_after: int
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[tuple[str, str, str]]  # name, type before, type after
    key: str | None
    rows_added: int | None
    rows_removed: int | None
    rows_changed: int | None
    repeated_keys: int | None
    shifts: list[ColumnShift]
    summary: list[str]


def _mean(profile: dict[str, Any]) -> float | None:
    value = profile.get("mean")
    return None if value is None else float(value)


def _summary(c: Comparison) -> list[str]:
    """The comparison in sentences a domain expert can read."""
    said = []
    difference = c.rows_after - c.rows_before
    if difference:
        more = "more" if difference > 0 else "fewer"
        said.append(f"{abs(difference):,} {more} rows ({c.rows_before:,} → {c.rows_after:,}).")
    else:
        said.append(f"The same number of rows ({c.rows_after:,}).")
    for name in c.added_columns:
        said.append(f"New column: {name}.")
    for name in c.removed_columns:
        said.append(f"Column {name} is gone.")
    for name, old, new in c.retyped_columns:
        said.append(f"Column {name} changed type from {old} to {new}.")
    if c.key is not None and c.rows_added is not None:
        said.append(
            f"Matched by {c.key}: {c.rows_added:,} rows added, {c.rows_removed:,} removed, "
            f"{c.rows_changed:,} changed."
        )
        if c.repeated_keys:
            said.append(f"{c.repeated_keys:,} {c.key} values appear more than once.")
    for shift in c.shifts:
        if shift.mean_before is not None and shift.mean_after is not None:
            base = abs(shift.mean_before) or 1.0
            change = (shift.mean_after - shift.mean_before) / base
            if abs(change) >= 0.01:
                way = "rose" if change > 0 else "fell"
                said.append(
                    f"{shift.name} {way} on average from {shift.mean_before:.4g} to "
                    f"{shift.mean_after:.4g} ({change:+.1%})."
                )
        if shift.nulls_after > shift.nulls_before:
            said.append(
                f"{shift.name} has {shift.nulls_after - shift.nulls_before:,} more empty values."
            )
    return said


async def compare(
    store: Store, principal: Principal, found: Found, before: int, after: int, key: str | None
) -> Comparison:
    """What changed from version ``before`` to ``after``: schema, rows (matched by ``key``
    when given) and per-column shifts. PII columns show counts only for those without the
    grant (their means are values too)."""
    old, new = await version(store, found, before), await version(store, found, after)
    old_types = {c["name"]: c["type"] for c in json.loads(old.schema_json)}
    new_types = {c["name"]: c["type"] for c in json.loads(new.schema_json)}
    common = [name for name in new_types if name in old_types]
    same_type = [name for name in common if old_types[name] == new_types[name]]
    added = [name for name in new_types if name not in old_types]
    removed = [name for name in old_types if name not in new_types]
    retyped = [(n, old_types[n], new_types[n]) for n in common if old_types[n] != new_types[n]]
    counts: tuple[int, int, int, int] | None = None
    if key is not None and key in await _masked(store, found):
        raise InvalidInput(
            f"{key} holds personal data: matching rows by it needs the PII right.", field="key"
        )
    if key is not None:
        if key not in same_type:
            raise InvalidInput(
                f"Match rows by a column both versions have, of the same type; {key!r} is not.",
                field="key",
            )
        counts = await store.datasets.key_changes(
            _paths(store, await store.datasets.files(old.id)),
            _paths(store, await store.datasets.files(new.id)),
            key, [c for c in same_type if c != key],
        )  # fmt: skip
    masked = await _masked(store, found)
    old_profile, new_profile = json.loads(old.profile_json), json.loads(new.profile_json)
    shifts = []
    for name in same_type:
        a, b = old_profile.get(name, {}), new_profile.get(name, {})
        hidden = name in masked
        shifts.append(
            ColumnShift(
                name,
                new_types[name],
                int(a.get("nulls", 0)),
                int(b.get("nulls", 0)),
                a.get("distinct"),
                b.get("distinct"),
                None if hidden else _mean(a),
                None if hidden else _mean(b),
            )
        )
    result = Comparison(
        old.number, new.number, old.row_count, new.row_count, added, removed, retyped, key,
        counts[0] if counts else None, counts[1] if counts else None,
        counts[2] if counts else None, counts[3] if counts else None, shifts, [],
    )  # fmt: skip
    await audit.read(
        store, principal, "dataset.compare", "dataset", found.dataset.id, found.project.id,
        old.row_count + new.row_count,
    )  # fmt: skip
    return dataclasses.replace(result, summary=_summary(result))
