"""Parquet uploads kept as they came, written again in the background in row groups that make
deep pages quick.

An upload that reads well enough is stored as it came, byte for byte (row groups of up to
pyarrow's default 1,048,576 rows): writing it again would halve the upload's speed (the bench's
10M rows x 20 columns: 4.3 s to write, against 3.0-3.6 s for the whole upload). But a page of
rows sorted deep into such a version gathers its 50 rows from all over the file, and DuckDB
decodes the whole column chunk of a row group for any row of it: the 50 rows took 390-440 ms
from the file as uploaded and 99-108 ms from the same rows written as Salon writes them (row
groups of 100,000), and the whole page (its row numbers, then its rows) 570-630 ms against
240-260 ms (in-process, 2026-12-07). So once a version is ready the hub writes such an object
again in the worker process (the same limits as an upload, at a lower priority), and points the
versions at the new object in one transaction with an audit event for each dataset.

What stays: the rows and their order (annotations and review items point at rows by number),
the schema, the profile and the version's content hash (its rows are the same: uploading the
original file again still adds no version). What changes: the object's bytes, digest and size,
and so the version's size. Objects in S3 (``SALON_OBJECT_STORE``) are read there and written
back. Left as they are: data registered in place, and the versions of a dataset under a legal
hold or with an erasure waiting (looked at again an hour later, see ``Layouts.passed``); an
object the worker could not write again (damaged, or too slow for its time limit) is left until
the hub restarts, rather than cost the worker's time every hour.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from hub.domain.audit import EventDraft
from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM
from hub.settings import Settings
from hub.store import Store
from hub.store.dataset_conversion import ConversionError, Limits, convert
from hub.store.dataset_layout import Moved, Stored

log = logging.getLogger("salon.layouts")
# An object stored with row groups of more rows is written again (DuckDB writes 122,880, Salon
# 100,000; polars 262,144 and pyarrow 1,048,576 are written again).
LAID_OUT_ROWS = 131_072
# How long an object replaced stays, for reads that found it before the versions moved.
GRACE = 60.0
NICENESS = 10  # the worker yields the cores to the hub's requests
RETRY = 3600.0  # seconds before objects left as they were are looked at again


@dataclasses.dataclass
class Layouts:
    """What one hub's round of layouts remembers between rounds."""

    passed: set[str] = dataclasses.field(default_factory=set)  # left for now (a hold, an erasure)
    since: float = dataclasses.field(default_factory=time.monotonic)  # when passing began
    failed: set[str] = dataclasses.field(default_factory=set)  # left until a restart
    retired: list[tuple[str, float]] = dataclasses.field(default_factory=list)  # replaced, when


@dataclasses.dataclass(frozen=True, slots=True)
class Done:
    """What became of one object: ``outcome`` is "read well" (kept, its row groups noted),
    "written again" (``moved``: the datasets now on the new object) or "left" (why: ``reason``)."""

    object_hash: str
    outcome: str
    moved: tuple[Moved, ...] = ()
    reason: str = ""


async def lay_out_next(store: Store, settings: Settings, layouts: Layouts) -> Done | None:
    """Look at the next object whose row groups were never looked at or are too big, and write
    it again when they are; None when every object is laid out (or passed)."""
    await _remove_retired(store, layouts)
    if time.monotonic() - layouts.since >= RETRY:  # a hold released, an erasure done
        layouts.passed.clear()
        layouts.since = time.monotonic()
    found = await store.layouts.next(LAID_OUT_ROWS, sorted(layouts.passed | layouts.failed))
    if found is None:
        return None
    location = store.objects.location(found.object_hash)
    target = store.scratch_file(".parquet")
    try:
        try:
            converted = await convert(
                location,
                "parquet",
                target,
                Limits.of(settings),
                s3=store.s3.access if store.s3 and "://" in location else None,
                rewrite="when needed",
                kept_row_group_rows=LAID_OUT_ROWS,
                profiled=False,
                niceness=NICENESS,
            )
        except ConversionError as exc:
            return _left(layouts, found, str(exc), again=False)
        if converted.kept:
            await store.layouts.note(found.object_hash, converted.row_group_rows)
            return Done(found.object_hash, "read well")
        if (converted.rows, converted.schema) != (found.rows, found.schema):
            return _left(layouts, found, "written again, it read differently", again=False)
        digest, size = await asyncio.to_thread(store.objects.put, target)
    finally:
        target.unlink(missing_ok=True)
    moved = await store.layouts.move(
        found.object_hash, digest, size, converted.row_group_rows, audit=_events
    )
    # Either may be unused now: the old one when every version moved, the new one when none
    # did (under a hold, being erased, or purged meanwhile).
    layouts.retired += [(found.object_hash, time.monotonic()), (digest, time.monotonic())]
    if not moved:
        return _left(layouts, found, "its datasets are under a legal hold, being erased or gone")
    if await store.trash.referenced([found.object_hash]):
        layouts.passed.add(found.object_hash)  # some of its datasets stay on it, for now
    return Done(found.object_hash, "written again", tuple(moved))


def _events(moved: list[Moved]) -> list[EventDraft]:
    return [
        audit.event(SYSTEM, "dataset.rewrite", "dataset", m.dataset_id, m.project_id, rows=m.rows)
        for m in moved
    ]


def _left(layouts: Layouts, found: Stored, reason: str, *, again: bool = True) -> Done:
    """Leave the object as it is: ``again``, to be looked at after RETRY seconds; else until
    the hub restarts."""
    (layouts.passed if again else layouts.failed).add(found.object_hash)
    log.warning("Dataset object %s is left as stored: %s", found.object_hash, reason)
    return Done(found.object_hash, "left", reason=reason)


async def _remove_retired(store: Store, layouts: Layouts) -> None:
    """Delete the objects replaced at least GRACE seconds ago that nothing refers to again (an
    upload of the same bytes may have stored them since: see ``ObjectStore.remove``)."""
    due = [digest for digest, at in layouts.retired if time.monotonic() - at >= GRACE]
    if not due:
        return
    layouts.retired = [(digest, at) for digest, at in layouts.retired if digest not in due]
    unused = sorted(set(due) - await store.trash.referenced(due))
    await store.deletions.remove(unused, GRACE)
