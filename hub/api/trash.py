"""The trash in GraphQL: move something there, list it, restore it, purge it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.domain.lifecycle import Purged, TrashEntry
from hub.services.lifecycle import trash
from hub.services.lifecycle.garbage import Garbage, collect
from hub.services.tracking import projects


@strawberry.enum(name="TrashKind", description="What can be moved to the trash.")
class TrashKind(Enum):
    PROJECT = "project"
    EXPERIMENT = "experiment"
    RUN = "run"
    DATASET = "dataset"
    DATASET_VERSION = "dataset_version"
    MODEL = "model"
    MODEL_VERSION = "model_version"
    PAGE = "page"
    TASK = "task"
    ARTIFACT = "artifact"
    LOGGED_MODEL = "logged_model"


@strawberry.type(name="TrashCount", description="How many objects of one kind.")
class TrashCountType:
    kind: TrashKind
    count: int


def _counts(pairs: tuple[tuple[str, int], ...]) -> list[TrashCountType]:
    return [TrashCountType(kind=TrashKind(kind), count=count) for kind, count in pairs]


@strawberry.type(
    name="TrashEntry",
    description="Something moved to the trash, with what it took along (an experiment's runs, a "
    "dataset's versions, a project's everything); restorable until purged.",
)
class TrashEntryType:
    id: strawberry.ID
    kind: TrashKind
    object_id: strawberry.ID = strawberry.field(description="The run, dataset... itself.")
    project_id: strawberry.ID
    label: str = strawberry.field(description="What it was called when moved.")
    trashed_by: str
    trashed_at: datetime
    purge_after: datetime = strawberry.field(
        description="When the hub purges it (SALON_TRASH_DAYS after it was moved)."
    )
    holds: list[TrashCountType] = strawberry.field(
        description="What went to the trash with it, itself included."
    )

    @classmethod
    def of(cls, entry: TrashEntry, days: int) -> TrashEntryType:
        return cls(
            id=strawberry.ID(entry.id),
            kind=TrashKind(entry.kind),
            object_id=strawberry.ID(entry.object_id),
            project_id=strawberry.ID(entry.project_id),
            label=entry.label,
            trashed_by=entry.trashed_by,
            trashed_at=entry.trashed_at,
            purge_after=entry.trashed_at + timedelta(days=days),
            holds=_counts(entry.holds),
        )


@strawberry.type(name="Purge", description="What a purge removed for good.")
class PurgeType:
    entries: list[TrashEntryType]
    objects: list[TrashCountType] = strawberry.field(description="Objects removed, by kind.")
    points: float = strawberry.field(description="Metric points removed.")
    files: int = strawberry.field(description="Stored files no remaining object used.")
    file_bytes: float = strawberry.field(description="Their size in bytes.")
    held: list[TrashEntryType] = strawberry.field(
        description="Entries that were due but stay in the trash: a legal hold covers them."
    )
    files_wait_for_backup: bool = strawberry.field(
        description="The files are deleted once the backup under way has copied them."
    )

    @classmethod
    def of(cls, purged: Purged, days: int) -> PurgeType:
        return cls(
            held=[TrashEntryType.of(entry, days) for entry, _ in purged.held],
            entries=[TrashEntryType.of(entry, days) for entry in purged.entries],
            objects=_counts(purged.objects),
            points=float(purged.points),
            files=len(purged.files),
            file_bytes=float(purged.file_bytes),
            files_wait_for_backup=purged.files_wait_for_backup,
        )


@strawberry.type(
    name="Garbage",
    description="What a garbage collection removed, or (a dry run) would remove now.",
)
class GarbageType:
    dry_run: bool
    purge: PurgeType = strawberry.field(
        description="The trash entries older than SALON_TRASH_DAYS, purged."
    )
    orphan_files: int = strawberry.field(description="Stored files nothing referred to.")
    orphan_bytes: float
    total_bytes: float = strawberry.field(description="Bytes freed in the object store.")
    files_wait_for_backup: bool = strawberry.field(
        description="The files are deleted once the backup under way has copied them."
    )

    @classmethod
    def of(cls, found: Garbage, days: int) -> GarbageType:
        return cls(
            dry_run=found.dry_run,
            purge=PurgeType.of(found.purged, days),
            orphan_files=found.orphans,
            orphan_bytes=float(found.orphan_bytes),
            total_bytes=float(found.total_bytes),
            files_wait_for_backup=found.files_wait_for_backup,
        )


TrashEntryResult = Annotated[TrashEntryType | Errors, strawberry.union("TrashEntryResult")]
PurgeResult = Annotated[PurgeType | Errors, strawberry.union("PurgeResult")]
GarbageResult = Annotated[GarbageType | Errors, strawberry.union("GarbageResult")]


@strawberry.type
class TrashQueries:
    @strawberry.field(
        description="What is in the trash of the projects you read (or of one), newest first; "
        "a project in the trash shows here with its own entry."
    )
    async def trash(self, info: Info, project: str | None = None) -> list[TrashEntryType]:
        ctx = info.context
        chosen = None
        if project is not None:
            chosen = [(await projects.visible_project(ctx.store, ctx.principal, project)).id]
        entries = await trash.trash_of(ctx.store, ctx.principal, chosen)
        return [TrashEntryType.of(entry, ctx.settings.trash_days) for entry in entries]


@strawberry.type
class TrashMutations:
    @strawberry.mutation(
        description="Move a run, experiment, project, dataset, dataset version, registered "
        "model, model version, wiki page or notebook (PAGE) or task to the trash, "
        "with what it holds: it leaves every list, search and feed until restored. Editors "
        "may trash what they made, maintainers anything, a project only its maintainers."
    )
    async def move_to_trash(
        self, info: Info, kind: TrashKind, id: strawberry.ID
    ) -> TrashEntryResult:
        ctx = info.context
        work = trash.move_to_trash(ctx.store, ctx.principal, kind.value, id)
        return await result_of(work, lambda e: TrashEntryType.of(e, ctx.settings.trash_days))

    @strawberry.mutation(
        description="Bring a trash entry back whole (whoever trashed it, or maintainers). "
        "Refused while what holds it (its experiment, dataset or project) is in the trash."
    )
    async def restore_from_trash(self, info: Info, entry_id: strawberry.ID) -> TrashEntryResult:
        ctx = info.context
        work = trash.restore(ctx.store, ctx.principal, entry_id)
        return await result_of(work, lambda e: TrashEntryType.of(e, ctx.settings.trash_days))

    @strawberry.mutation(
        description="Remove a trash entry for good now (maintainers): its rows, metric points "
        "and the stored files nothing else uses. It cannot be undone."
    )
    async def purge_from_trash(self, info: Info, entry_id: strawberry.ID) -> PurgeResult:
        ctx = info.context
        work = trash.purge(ctx.store, ctx.principal, entry_id)
        return await result_of(work, lambda p: PurgeType.of(p, ctx.settings.trash_days))

    @strawberry.mutation(
        description="Purge every trash entry older than SALON_TRASH_DAYS and delete stored "
        "files nothing refers to (site admins; `salon gc`). With dryRun, only say what would "
        "go and how many bytes."
    )
    async def collect_garbage(self, info: Info, dry_run: bool = True) -> GarbageResult:
        ctx = info.context
        days = ctx.settings.trash_days
        work = collect(ctx.store, ctx.principal, days, dry_run=dry_run)
        return await result_of(work, lambda found: GarbageType.of(found, days))
