"""Annotations: people label, note or vote on rows of a version; publishing them makes a
child version."""

from __future__ import annotations

import dataclasses

from hub.clock import now
from hub.domain.data import Annotation, DatasetVersionRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.services.data.dataset_uploads import store_version
from hub.services.data.datasets import Found, paths_of
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store

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
    store: Store,
    principal: Principal,
    found: Found,
    record: DatasetVersionRecord,
    items: list[NewAnnotation],
) -> int:
    """Label, note or vote on rows of a version (commenters and up); attributed and dated. A
    row's new annotation replaces its earlier one as a whole."""
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
    # A row named twice in one call: the last one counts (they share a time).
    stamped = list({a.row_number: a for a in stamped}.values())
    events = [
        audit.event(
            principal,
            "dataset.annotate",
            "dataset",
            found.dataset.id,
            found.project.id,
            rows=len(stamped),
        )
    ]
    return await store.datasets.annotate(record.id, found.dataset.id, stamped, audit=events)


async def version_annotations(
    store: Store, principal: Principal, found: Found, record: DatasetVersionRecord
) -> list[Annotation]:
    found_items = await store.datasets.annotations(record.id)
    await audit.read(
        store,
        principal,
        "dataset.annotations",
        "dataset",
        found.dataset.id,
        found.project.id,
        len(found_items),
    )
    return found_items


async def publish_annotations(
    store: Store,
    settings: Settings,
    principal: Principal,
    found: Found,
    record: DatasetVersionRecord,
    message: str,
) -> tuple[DatasetVersionRecord, bool]:
    """A new version whose parent is ``record``: its rows with the latest annotations as the
    columns ``label``, ``annotation_note`` and ``vote`` (editors and up)."""
    if not await store.datasets.annotations(record.id):
        raise InvalidInput(f"Version {record.number} has no annotations to publish.")
    names = [c.name for c in record.schema]
    files = await store.datasets.files(record.id)
    merged = store.scratch_file(".parquet")
    try:
        await store.datasets.write_annotated(await paths_of(store, files), record.id, names, merged)
        return await store_version(
            store,
            settings,
            principal,
            found,
            merged,
            "parquet",
            f"annotations of version {record.number}",
            message,
            record.id,
            "dataset.publish",
        )
    finally:
        merged.unlink(missing_ok=True)
