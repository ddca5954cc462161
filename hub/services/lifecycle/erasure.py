"""Erasing a data subject from a dataset (maintainers): the rows a filter matches (the row
filter language, e.g. ``customer_id = 'C-1042'``) leave every version, trashed ones included.
Each affected object is written again without them and profiled again; the versions keep their
numbers and lineage and move onto the new objects in one transaction, with a record of who,
when, which filter and how many rows per version (never the values); then the old objects,
used by nothing else, are deleted. A crash before that transaction leaves the old state (the
new objects are swept as unused), after it the new one (the old objects are swept)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import DatasetErasure, Rewrite
from hub.errors import Conflict, InvalidInput
from hub.ids import new_id
from hub.run_filter import Filter, parse_filter
from hub.services.data import datasets
from hub.services.data.dataset_uploads import content_hash
from hub.services.data.datasets import Found
from hub.services.policy import audit, feed
from hub.services.policy.permissions import MANAGE
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store
from hub.store.dataset_conversion import ConversionError, convert


@dataclasses.dataclass(frozen=True, slots=True)
class _Rewritten:
    digest: str
    rows: int
    size: int
    erased: tuple[int, ...]
    profile: dict[str, object]


def _parsed(text: str, columns: set[str]) -> Filter:
    text = text.strip()
    if not text:
        raise InvalidInput(
            "Say which rows to erase with a filter, e.g. customer_id = 'C-1042'.", field="filter"
        )
    where = parse_filter(text, sorted(columns))
    assert where is not None
    return where


async def erase_rows(
    store: Store,
    settings: Settings,
    principal: Principal,
    project: str,
    name: str,
    filter_text: str,
) -> DatasetErasure:
    """Erase the rows ``filter_text`` matches from every version of the dataset."""
    found = await datasets.find(store, principal, project, name, MANAGE, "dataset.erase_rows")
    versions = await store.erasures.versions(found.dataset.id)
    every_column = set().union(*(v.columns for v in versions)) if versions else set()
    where = _parsed(filter_text, every_column)
    named = datasets.fields_of(where)
    if named & await datasets.masked_columns(store, found):  # maintainers hold PII; others not
        raise InvalidInput("Filtering by personal data needs the PII right.", field="filter")
    for version in versions:
        if version.location is not None or version.files != 1:
            raise Conflict(
                f"Version {version.number} reads its data in place ({version.location}); "
                "Salon cannot rewrite it. Erase the rows at the source, then register it again."
            )
    for kind, object_id in (("dataset", found.dataset.id), ("project", found.project.id)):
        hold = await store.holds.active_on(kind, object_id)
        if hold is not None:
            raise Conflict(f"Erasing rows is refused: a {hold.describe()} covers this dataset.")
    requested = now()
    by_object: dict[str, list[int]] = defaultdict(list)
    applicable = [v for v in versions if named <= v.columns]
    for version in applicable:
        by_object[version.object_hash].append(version.number)
    rewritten: dict[str, _Rewritten] = {}
    for digest in by_object:
        made = await _rewrite(store, settings, found, digest, where)
        if made is not None:
            rewritten[digest] = made
    if not rewritten:
        raise InvalidInput(
            f"The filter matches no row in any version of {found.dataset.name}; nothing was "
            "changed.",
            field="filter",
        )
    rewrites = [
        Rewrite(v.id, v.number, v.object_hash, r.digest, r.rows, r.size, r.erased, r.profile)
        for v in applicable
        if (r := rewritten.get(v.object_hash)) is not None
    ]
    erasure = DatasetErasure(
        new_id(),
        found.dataset.id,
        found.project.id,
        filter_text.strip(),
        principal.user_name,
        requested,
        now(),
        tuple((r.number, len(r.erased)) for r in rewrites),
    )
    content = {r.digest: content_hash([r.digest]) for r in rewritten.values()}
    events: list[EventDraft] = [
        audit.event(
            principal,
            "dataset.erase_rows",
            "dataset",
            found.dataset.id,
            found.project.id,
            rows=erasure.total,
        ),
        feed.entry(
            principal,
            "dataset.erase_rows",
            "dataset",
            found.dataset.id,
            found.project.id,
            f"erased {erasure.total:,} rows from {len(rewrites)} versions of dataset "
            f"{found.dataset.name}",
            guard=("dataset", found.dataset.id),
        ),
    ]
    done = await audit.change(
        store, events, store.erasures.swap(erasure, rewrites, content, audit=events)
    )
    old = sorted(rewritten)
    unused = sorted(set(old) - await store.trash.referenced(old))
    await asyncio.to_thread(store.objects.remove, unused, 0.0)  # the erased rows' last copies
    return done


async def _rewrite(
    store: Store, settings: Settings, found: Found, digest: str, where: Filter
) -> _Rewritten | None:
    """The object written again without the matching rows, profiled and stored; None when
    no row matches."""
    path = store.objects.location(digest)
    erased = await store.erasures.matching(path, where)
    if not erased:
        return None
    scratch = settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    kept, target = scratch / f"{new_id()}-kept.parquet", scratch / f"{new_id()}.parquet"
    try:
        await store.erasures.write_without(path, where, kept)
        try:
            converted = await convert(
                kept,
                "parquet",
                target,
                memory_mb=settings.dataset_worker_memory_mb,
                seconds=settings.dataset_worker_seconds,
                output_bytes=settings.max_dataset_bytes * 4,
            )
        except ConversionError as exc:
            raise InvalidInput(f"{found.dataset.name}: {exc}") from None
        new_digest, size = await asyncio.to_thread(store.objects.put, target)
    finally:
        kept.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
    return _Rewritten(new_digest, converted.rows, size, tuple(erased), converted.profile)


async def erasures_of(store: Store, principal: Principal, found: Found) -> list[DatasetErasure]:
    """The dataset's erasures, newest first (``found``: a dataset the principal may read)."""
    records = await store.erasures.of_dataset(found.dataset.id)
    await audit.read(
        store,
        principal,
        "dataset.erasures",
        "dataset",
        found.dataset.id,
        found.project.id,
        len(records),
    )
    return records
