"""Erasing a data subject from a dataset (maintainers): the rows a filter matches (the row
filter language, e.g. ``customer_id = 'C-1042'``) leave every version, trashed ones included.

A request is checked when it is made (the filter parses and matches rows, no legal hold) and
queued; the hub holding the work carries requests out one at a time (``hub/workers/
erasures.py``), since a large dataset takes minutes. Each affected object is written again
without the rows and profiled again; the versions keep their numbers and lineage and move onto
the new objects in one transaction, with a record of who, when, which filter and how many rows
per version (never the values) and the request marked done; then the old objects, used by
nothing else, are deleted (once a backup under way has copied them: ``store.deletions``). A
crash before that transaction leaves the old state and the request running, carried out again
by the next hub to hold the work (the new objects are swept as unused); after it, the new state
(the old objects are swept)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import DatasetErasure, Rewrite
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound, StoreUnavailable
from hub.ids import new_id
from hub.run_filter import Filter, parse_filter
from hub.services.data import datasets
from hub.services.data.dataset_uploads import content_hash
from hub.services.data.datasets import Found
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import MANAGE
from hub.services.policy.principal import SYSTEM, Principal
from hub.settings import Settings
from hub.store import Store
from hub.store.dataset_conversion import ConversionError, Limits, convert
from hub.store.dataset_erasure import Stored

log = logging.getLogger("salon.erasures")


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
    """Check a request to erase the rows ``filter_text`` matches from every version of the
    dataset, and queue it for the hub (:func:`carry_out_next`); refused at once when the
    filter does not parse, matches nothing, or a legal hold covers the dataset."""
    found = await datasets.find(store, principal, project, name, MANAGE, "dataset.erase_rows")
    versions = await store.erasures.versions(found.dataset.id)
    where, applicable = _checked(versions, filter_text, found.dataset.name)
    if datasets.fields_of(where) & await datasets.masked_columns(store, found):
        # maintainers hold the PII right; others may not filter by what they cannot see
        raise InvalidInput("Filtering by personal data needs the PII right.", field="filter")
    await _not_held(store, found.dataset.id, found.project.id)
    paths = sorted({store.objects.location(v.object_hash) for v in applicable})
    if not paths or not await store.erasures.count_matching(paths, where):
        raise InvalidInput(_NO_MATCH.format(name=found.dataset.name), field="filter")
    requested = DatasetErasure(
        new_id(),
        found.dataset.id,
        found.project.id,
        filter_text.strip(),
        principal.user_name,
        now(),
        None,
        (),
        state="queued",
    )
    events: list[EventDraft] = [
        audit.event(
            principal, "dataset.erase_request", "dataset", found.dataset.id, found.project.id
        )
    ]
    return await audit.change(store, events, store.erasures.request(requested, audit=events))


_NO_MATCH = "The filter matches no row in any version of {name}; nothing was changed."


def _checked(versions: list[Stored], filter_text: str, name: str) -> tuple[Filter, list[Stored]]:
    """The parsed filter and the versions that have every column it names; InvalidInput or
    Conflict when it cannot be applied."""
    every_column = set().union(*(v.columns for v in versions)) if versions else set()
    where = _parsed(filter_text, every_column)
    for version in versions:
        if version.location is not None:
            raise Conflict(
                f"Version {version.number} of {name} reads its data in place "
                f"({version.location}); Salon cannot rewrite it. Erase the rows at the source, "
                "then register it again."
            )
    named = datasets.fields_of(where)
    return where, [v for v in versions if named <= v.columns]


async def _not_held(store: Store, dataset_id: str, project_id: str) -> None:
    for kind, object_id in (("dataset", dataset_id), ("project", project_id)):
        hold = await store.holds.active_on(kind, object_id)
        if hold is not None:
            raise Conflict(f"Erasing rows is refused: a {hold.describe()} covers this dataset.")


class Abandoned(Exception):
    """This hub no longer holds the work: another carries the request out."""


async def carry_out_next(
    store: Store, settings: Settings, still_ours: Callable[[], Awaitable[bool]]
) -> DatasetErasure | None:
    """Carry out the oldest waiting request (None when none waits): done, or failed with the
    reason. ``still_ours`` is asked between versions; when it says no, the request is left
    running for the hub that took the work over."""
    erasure = await store.erasures.next(now())
    if erasure is None:
        return None
    try:
        return await _carry_out(store, settings, erasure, still_ours)
    except (InvalidInput, Conflict, NotFound) as exc:
        problem = str(exc)
    except (StoreUnavailable, Abandoned):
        raise  # left running: carried out again once the database answers, or by another hub
    except Exception as exc:
        log.exception("Erasure %s failed", erasure.id)
        problem = f"The hub could not finish it ({type(exc).__name__}: {exc}); nothing changed."
    events: list[EventDraft] = [
        audit.event(
            SYSTEM,
            "dataset.erase_rows",
            "dataset",
            erasure.dataset_id,
            erasure.project_id,
            outcome="error",
        )
    ]
    await store.erasures.failed(erasure.id, problem, now(), audit=events)
    return dataclasses.replace(erasure, state="failed", problem=problem, finished_at=now())


async def _carry_out(
    store: Store,
    settings: Settings,
    erasure: DatasetErasure,
    still_ours: Callable[[], Awaitable[bool]],
) -> DatasetErasure:
    found = (await store.datasets.by_ids([erasure.dataset_id])).get(erasure.dataset_id)
    if found is None:
        raise NotFound("The dataset was purged before its rows were erased.")
    versions = await store.erasures.versions(erasure.dataset_id)
    where, applicable = _checked(versions, erasure.filter, found.name)
    await _not_held(store, erasure.dataset_id, erasure.project_id)
    by_object: dict[str, list[int]] = defaultdict(list)
    for version in applicable:
        by_object[version.object_hash].append(version.number)
    rewritten: dict[str, _Rewritten] = {}
    for digest in by_object:
        if not await still_ours():
            raise Abandoned(erasure.id)
        made = await _rewrite(store, settings, found.name, digest, where)
        if made is not None:
            rewritten[digest] = made
    if not rewritten:
        raise InvalidInput(_NO_MATCH.format(name=found.name))
    rewrites = [
        Rewrite(v.id, v.number, v.object_hash, r.digest, r.rows, r.size, r.erased, r.profile)
        for v in applicable
        if (r := rewritten.get(v.object_hash)) is not None
    ]
    done = dataclasses.replace(
        erasure,
        finished_at=now(),
        rows=tuple((r.number, len(r.erased)) for r in rewrites),
        state="done",
    )
    content = {r.digest: content_hash([r.digest]) for r in rewritten.values()}
    events: list[EventDraft] = [
        audit.event(
            SYSTEM,
            "dataset.erase_rows",
            "dataset",
            erasure.dataset_id,
            erasure.project_id,
            rows=done.total,
        ),
        feed.entry(
            SYSTEM,
            "dataset.erase_rows",
            "dataset",
            erasure.dataset_id,
            erasure.project_id,
            f"erased {done.total:,} rows from {len(rewrites)} versions of dataset "
            f"{found.name}, as {erasure.requested_by} asked",
            guard=("dataset", erasure.dataset_id),
        ),
    ]
    await audit.change(store, events, store.erasures.swap(done, rewrites, content, audit=events))
    old = sorted(rewritten)
    unused = sorted(set(old) - await store.trash.referenced(old))
    await store.deletions.remove(unused, 0.0)  # the erased rows' last copies
    return done


async def _rewrite(
    store: Store, settings: Settings, name: str, digest: str, where: Filter
) -> _Rewritten | None:
    """The object written again without the matching rows, profiled and stored; None when
    no row matches."""
    path = store.objects.location(digest)
    erased = await store.erasures.matching(path, where)
    if not erased:
        return None
    kept, target = store.scratch_file("-kept.parquet"), store.scratch_file(".parquet")
    try:
        await store.erasures.write_without(path, where, kept)
        try:
            converted = await convert(
                kept,
                "parquet",
                target,
                Limits.of(settings),
            )
        except ConversionError as exc:
            raise InvalidInput(f"{name}: {exc}") from None
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


@dataclasses.dataclass(frozen=True, slots=True)
class Requested:
    """An erasure request with the names of its dataset and project (for compliance)."""

    erasure: DatasetErasure
    dataset: str
    project: str


async def every_request(store: Store, principal: Principal, limit: int = 200) -> list[Requested]:
    """Erasure requests of every dataset, newest first, in every state (admins and
    compliance officers): what was asked, what the hub is doing, what failed and why."""
    if not permissions.can_read_audit(principal):
        await audit.deny(store, principal, "dataset.erasures", "dataset")
        raise Forbidden("Only admins and compliance officers see every erasure request.")
    found = await store.erasures.recent(max(1, min(limit, 1000)))
    datasets_by_id = await store.datasets.by_ids(sorted({e.dataset_id for e in found}))
    projects_by_id = await store.projects.by_ids(sorted({e.project_id for e in found}))
    await audit.read(store, principal, "dataset.erasures", "dataset", None, None, len(found))
    return [
        Requested(
            e,
            d.name if (d := datasets_by_id.get(e.dataset_id)) else "(purged)",
            p.name if (p := projects_by_id.get(e.project_id)) else "(purged)",
        )
        for e in found
    ]
