"""The trash: what people moved there, and what purging it removes."""

from __future__ import annotations

import dataclasses
from datetime import datetime

# What can be moved to the trash, and what each holds (hidden, restored and purged with it).
TRASH_KINDS = ("project", "experiment", "run", "dataset", "dataset_version")


@dataclasses.dataclass(frozen=True, slots=True)
class TrashEntry:
    """One thing a person moved to the trash, with what it held then."""

    id: str
    kind: str  # one of TRASH_KINDS
    object_id: str
    project_id: str
    label: str  # its name when trashed
    trashed_by: str
    trashed_at: datetime
    holds: tuple[tuple[str, int], ...] = ()  # (kind, how many) hidden with it, itself included


@dataclasses.dataclass(frozen=True, slots=True)
class Purged:
    """What a purge removed (or, for a dry run, would remove)."""

    entries: tuple[TrashEntry, ...]
    objects: tuple[tuple[str, int], ...]  # (kind, how many rows) of the trashed objects
    points: int  # metric points
    files: tuple[str, ...]  # content-addressed objects no remaining row refers to
    file_bytes: int
