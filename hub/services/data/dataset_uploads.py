"""Making dataset versions: uploads (parsed in a separate process with limits) and files
registered in place."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.data import Column, DatasetFile, DatasetRecord, DatasetVersionRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.services.data.datasets import KINDS, Found, find
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.permissions import WRITE
from hub.services.policy.principal import Principal
from hub.services.tracking import projects
from hub.settings import Settings
from hub.store import Store
from hub.store.dataset_conversion import ConversionError, Limits, convert
from hub.store.objects import sha256_of
from hub.store.remote import RemoteError, split_uri

MAX_MESSAGE = 2000


def kind_of(filename: str, given: str | None) -> str:
    kind = (given or Path(filename).suffix.lstrip(".")).lower()
    if kind not in KINDS:
        raise InvalidInput(
            f"Upload a .csv or .parquet file (got {Path(filename).name!r}); name the format "
            "with ?format=csv or ?format=parquet otherwise.",
            field="format",
        )
    return kind


async def ensure_dataset(
    store: Store, principal: Principal, project_name: str, name: str, message: str, action: str
) -> Found:
    """The dataset a new version goes into, created (with the project) when new; the
    principal must be able to write it."""
    name = check_name(name, "dataset")
    if len(message) > MAX_MESSAGE:
        raise LimitExceeded(f"The message is limited to {MAX_MESSAGE} characters.", field="message")
    project = await projects.ensure_project(store, principal, project_name)
    if await store.datasets.by_name(project.id, name) is None:
        await permissions.require(
            store,
            principal,
            project.id,
            WRITE,
            action="dataset.create",
            object_kind="dataset",
            what=f"project named {project_name!r}",
        )
        record = DatasetRecord(new_id(), project.id, name, "", now(), principal.user_name)
        event = audit.event(principal, "dataset.create", "dataset", record.id, project.id, rows=1)
        await store.datasets.create(record, audit=[event])
    return await find(store, principal, project_name, name, WRITE, action)


async def _check_schema(store: Store, found: Found, schema: tuple[Column, ...]) -> None:
    """For a dataset with a fixed schema: the new version must keep the latest's columns."""
    latest = await store.datasets.versions([found.dataset.id])
    if not latest:
        return
    before = {c.name: c.type for c in latest[0].schema}
    after = {c.name: c.type for c in schema}
    problems = [f"{n} is missing" for n in before if n not in after]
    problems += [f"{n} is new" for n in after if n not in before]
    problems += [
        f"{n} is {after[n]} instead of {before[n]}"
        for n in before
        if n in after and after[n] != before[n]
    ]
    if problems:
        raise InvalidInput(
            f"The dataset {found.dataset.name!r} keeps a fixed schema, and this file differs: "
            f"{'; '.join(problems[:10])}. Fix the file, or ask a maintainer to unfix the schema.",
            field="file",
        )


async def fix_schema(store: Store, principal: Principal, found: Found, fixed: bool) -> None:
    """Require (or stop requiring) new versions to keep the latest version's columns."""
    await permissions.require(
        store,
        principal,
        found.project.id,
        permissions.MANAGE,
        action="dataset.fix_schema",
        object_kind="dataset",
        object_id=found.dataset.id,
    )
    event = audit.event(
        principal, "dataset.fix_schema", "dataset", found.dataset.id, found.project.id, rows=1
    )
    await store.datasets.set_fixed_schema(found.dataset.id, fixed, audit=[event])


async def may_upload(
    store: Store, principal: Principal, project_name: str, name: str, message: str = ""
) -> None:
    """Refuse, as :func:`upload` would, a caller who may not add a version to the dataset,
    before the hub reads a byte of the file; creates nothing."""
    name = check_name(name, "dataset")
    if len(message) > MAX_MESSAGE:
        raise LimitExceeded(f"The message is limited to {MAX_MESSAGE} characters.", field="message")
    project = await projects.writable_project(store, principal, project_name)
    if project is not None and await store.datasets.by_name(project.id, name) is not None:
        await find(store, principal, project_name, name, WRITE, "dataset.upload")


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
    *,
    hand_over: bool = False,
    sha256: str | None = None,
) -> tuple[DatasetVersionRecord, bool]:
    """Make a new version of the dataset (creating the dataset, and the project, when new)
    from an uploaded file. The file is parsed in a separate process with limits; identical
    content to the latest version is recognised and not stored twice (the flag is False).
    ``hand_over``: ``source`` is a scratch file the caller gives up, which may be moved into
    the store; otherwise a Parquet file is copied first, so that what the worker reads is
    what is stored, whatever happens to the caller's file meanwhile. ``sha256``: the digest of
    a file handed over, when the caller hashed it as it wrote it."""
    kind = kind_of(filename, kind)
    found = await ensure_dataset(store, principal, project_name, name, message, "dataset.upload")
    own = None
    if not hand_over and kind == "parquet":  # a CSV file is only read: the version is new
        own = source = await asyncio.to_thread(_copied, source, store.scratch_file(".upload"))
    try:
        return await store_version(
            store,
            settings,
            principal,
            found,
            source,
            kind,
            filename,
            message,
            None,
            "dataset.upload",
            sha256=sha256 if hand_over else None,
        )
    finally:
        if own is not None:
            own.unlink(missing_ok=True)


def _copied(source: Path, own: Path) -> Path:
    """``source`` copied to ``own``, for the worker to read and the store to keep."""
    shutil.copyfile(source, own)
    return own


def _announce(
    principal: Principal, action: str, found: Found, rows: int, verb: str
) -> Callable[[tuple[DatasetVersionRecord, bool]], list[EventDraft]]:
    """The events of a new version: always audited; in the feed only when a version was made
    (identical content adds none)."""

    def events(made: tuple[DatasetVersionRecord, bool]) -> list[EventDraft]:
        version, created = made
        said = f"{verb} version {version.number} of dataset {found.dataset.name} ({rows:,} rows)"
        return [
            audit.event(
                principal, action, "dataset", found.dataset.id, found.project.id, rows=rows
            ),
            *(
                [
                    feed.entry(
                        principal,
                        action,
                        "dataset_version",
                        version.id,
                        found.project.id,
                        said,
                        guard=("dataset", found.dataset.id),
                        detail={"dataset": found.dataset.name, "version": version.number},
                    )
                ]
                if created
                else []
            ),
        ]

    return events


def content_hash(digests: list[str]) -> str:
    """A version's content hash: over its objects' digests, in order (equal content, equal
    hash)."""
    return hashlib.sha256(json.dumps(digests).encode()).hexdigest()


async def store_version(
    store: Store,
    settings: Settings,
    principal: Principal,
    found: Found,
    source: Path,
    kind: str,
    filename: str,
    message: str,
    parent_id: str | None,
    action: str,
    *,
    sha256: str | None = None,
) -> tuple[DatasetVersionRecord, bool]:
    """Parse ``source`` in the worker, store its object once, and record the version.
    ``source`` is a scratch file the caller gives up: a Parquet file the hub reads well is
    moved into the store as it came (``sha256``: its digest, when the caller has it), anything
    else is written again; the caller deletes ``source`` when it is still there."""
    project = found.project
    target = store.scratch_file(".parquet")
    try:
        converted = await convert(
            source,
            kind,
            target,
            Limits.of(settings),
            rewrite="when needed",
        )
    except ConversionError as exc:
        target.unlink(missing_ok=True)
        failed = audit.event(
            principal, action, "dataset", found.dataset.id, project.id, outcome="error"
        )
        await store.audit.record([failed])
        raise InvalidInput(f"{Path(filename).name}: {exc}", field="file") from None
    if found.dataset.fixed_schema:
        try:
            await _check_schema(store, found, converted.schema)
        except InvalidInput:
            target.unlink(missing_ok=True)
            raise
    stored = source if converted.kept else target
    known = sha256 if converted.kept else None
    digest, size = await asyncio.to_thread(store.objects.put, stored, ".parquet", known)
    files = [DatasetFile(digest, converted.rows, size, row_group_rows=converted.row_group_rows)]
    content = content_hash([digest])
    draft = DatasetVersionRecord(
        new_id(),
        found.dataset.id,
        project.id,
        0,
        parent_id,
        principal.user_name,
        message,
        now(),
        content,
        converted.rows,
        size,
        converted.schema,
        converted.profile,
        Path(filename).name[:255],
    )
    return await store.datasets.add_version(
        draft,
        files,
        audit=_announce(
            principal,
            action,
            found,
            converted.rows,
            "uploaded" if parent_id is None else "published annotations as",
        ),
    )


# Registering data in place ------------------------------------------------------------------


def _roots(settings: Settings) -> list[str]:
    roots = [root.strip() for root in settings.dataset_roots.split(",") if root.strip()]
    if not roots:
        raise InvalidInput(
            "Registering data in place is off on this hub; upload the file, or ask an admin "
            "to list the folder in SALON_DATASET_ROOTS.",
            field="path",
        )
    return roots


def local_file(settings: Settings, text: str, suffixes: tuple[str, ...] = (".parquet",)) -> Path:
    """The file at ``text``, resolved (symlinks followed), when it lies inside one of the
    folders Salon may read (``SALON_DATASET_ROOTS``) and is of a kind in ``suffixes``."""
    roots = [Path(r).resolve() for r in _roots(settings) if not r.startswith("s3://")]
    if "\x00" in text:
        message = "The path has a NUL character in it; name the file plainly."
        raise InvalidInput(message, field="path")
    try:
        path = Path(text).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise InvalidInput(f"There is no file at {text!r} on the hub.", field="path") from None
    if not any(path.is_relative_to(root) for root in roots):
        raise InvalidInput(
            f"{text!r} is not inside a folder this hub may read ({', '.join(map(str, roots))}).",
            field="path",
        )
    if not path.is_file() or path.suffix.lower() not in suffixes:
        raise InvalidInput(_kinds_message(suffixes), field="path")
    return path


def _kinds_message(suffixes: tuple[str, ...]) -> str:
    if suffixes == (".parquet",):
        return "Register a Parquet file in place; upload CSV files instead."
    return f"Only {', '.join(s.lstrip('.') for s in suffixes)} files are read from here."


def s3_object(settings: Settings, uri: str, suffixes: tuple[str, ...] = (".parquet",)) -> str:
    """``uri`` when it lies under one of the S3 prefixes in ``SALON_DATASET_ROOTS``. Keys with
    ``.`` or ``..`` segments are refused: an HTTP layer may resolve them out of the prefix."""
    prefixes = [r for r in _roots(settings) if r.startswith("s3://")]
    try:
        bucket, key = split_uri(uri)
    except RemoteError as exc:
        raise InvalidInput(str(exc), field="path") from None
    segments = key.split("/")
    if any(part in ("", ".", "..") for part in segments):
        raise InvalidInput(
            f"{uri!r} has an empty, '.' or '..' part; name the object plainly.", field="path"
        )
    full = f"s3://{bucket}/{key}"
    inside = [p for p in prefixes if full.startswith(p if p.endswith("/") else p + "/")]
    if not inside:
        raise InvalidInput(
            f"{uri!r} is not under an S3 prefix this hub may read "
            f"({', '.join(prefixes) or 'none is configured'}).",
            field="path",
        )
    if not key.lower().endswith(suffixes):
        raise InvalidInput(_kinds_message(suffixes), field="path")
    return full


async def _located(store: Store, settings: Settings, text: str) -> DatasetFile:
    """Where the data lies and what it is now: size, time, ETag (S3) and SHA-256. The row
    count is filled in once the file has been read."""
    if not text.startswith("s3://"):
        path = local_file(settings, text)
        status = path.stat()
        digest = await asyncio.to_thread(sha256_of, path)
        return DatasetFile(digest, 0, status.st_size, str(path), status.st_mtime)
    uri = s3_object(settings, text)
    if store.s3 is None:  # only when SALON_DATASET_ROOTS names no S3 prefix
        raise InvalidInput("This hub has no S3 prefix in SALON_DATASET_ROOTS.", field="path")
    try:
        found = await asyncio.to_thread(store.s3.head, uri)
        digest = await asyncio.to_thread(store.s3.sha256, uri, found.etag)
    except RemoteError as exc:
        raise InvalidInput(str(exc), field="path") from None
    return DatasetFile(digest, 0, found.size, uri, found.modified, found.etag)


async def register(
    store: Store,
    settings: Settings,
    principal: Principal,
    project_name: str,
    name: str,
    path_text: str,
    message: str = "",
) -> tuple[DatasetVersionRecord, bool]:
    """A new version made of a Parquet file that stays where it is: a folder on the hub's
    machine or an S3 prefix listed in ``SALON_DATASET_ROOTS``. Its checksum, size, time (and
    S3 ETag) are recorded; if it changes later, reading the version says so instead of showing
    other data."""
    source = await _located(store, settings, path_text)
    assert source.location is not None
    found = await ensure_dataset(store, principal, project_name, name, message, "dataset.register")
    profiled = store.scratch_file(".parquet")
    try:
        converted = await convert(
            source.location,
            "parquet",
            profiled,
            Limits.of(settings),
            s3=store.s3.access if store.s3 else None,
            rewrite="never",
        )
    except ConversionError as exc:
        raise InvalidInput(f"{source.location}: {exc}", field="path") from None
    finally:
        profiled.unlink(missing_ok=True)  # only the profile was wanted: the data stays put
    files = [dataclasses.replace(source, row_count=converted.rows)]
    content = content_hash([source.object_hash])
    draft = DatasetVersionRecord(
        new_id(),
        found.dataset.id,
        found.project.id,
        0,
        None,
        principal.user_name,
        message,
        now(),
        content,
        converted.rows,
        source.size_bytes,
        converted.schema,
        converted.profile,
        source.location,
    )
    events = _announce(principal, "dataset.register", found, converted.rows, "registered")
    return await store.datasets.add_version(draft, files, audit=events)
