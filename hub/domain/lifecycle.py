"""The trash: what people moved there, and what purging it removes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

HOLD_KINDS = ("project", "dataset", "person")  # what a legal hold can cover

# What can be moved to the trash, and what each holds (hidden, restored and purged with it).
TRASH_KINDS = (
    "project",
    "experiment",
    "run",
    "dataset",
    "dataset_version",
    "model",
    "model_version",
    "page",  # a wiki page or a shared notebook
    "task",
    "artifact",  # one file of a run, its id "RUN_ID/path"
    "logged_model",  # an MLflow 3 logged model, with its files
)


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
    held: tuple[tuple[TrashEntry, LegalHold], ...] = ()  # due, but kept by a legal hold
    files_wait_for_backup: bool = False  # deleted once a backup under way has copied them


@dataclasses.dataclass(frozen=True, slots=True)
class LegalHold:
    """A hold on a project, a dataset or a person: nothing it covers is purged or erased
    while it is not released."""

    id: str
    kind: str  # one of HOLD_KINDS
    object_id: str
    label: str
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None

    def describe(self) -> str:
        """The hold in words, for the message of what it refuses."""
        return (
            f"legal hold on {self.kind} {self.label} ({self.reason!r}, placed by "
            f"{self.placed_by} on {self.placed_at:%Y-%m-%d})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetErasure:
    """A request to remove a data subject's rows from every version of a dataset, and once
    done what it removed: who, when, with which filter, how many rows per version number.
    Never the values."""

    id: str
    dataset_id: str
    project_id: str
    filter: str
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None  # when it was done or failed
    rows: tuple[tuple[int, int], ...]  # (version number, rows removed), by number, once done
    state: str = "done"  # one of ERASURE_STATES
    problem: str | None = None  # why it failed

    @property
    def total(self) -> int:
        return sum(count for _, count in self.rows)


ERASURE_STATES = ("queued", "running", "done", "failed")


@dataclasses.dataclass(frozen=True, slots=True)
class Rewrite:
    """One version's object rewritten without the erased rows."""

    version_id: str
    number: int
    old_hash: str
    new_hash: str
    rows: int  # left in it
    size_bytes: int
    erased: tuple[int, ...]  # the row numbers removed, ascending
    profile: Mapping[str, Any]  # recomputed


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """What a project keeps: finished runs for ``runs_days`` days unless tagged ``keep_tag``,
    the newest ``versions_kept`` versions of each dataset, its audit events for
    ``audit_years`` years (None: no limit)."""

    project_id: str
    runs_days: int | None
    keep_tag: str
    versions_kept: int | None
    updated_by: str
    updated_at: datetime
    last_applied: datetime | None = None
    audit_years: int | None = None

    def audit_before(self, at: datetime) -> datetime | None:
        """Audit events from before this are no longer kept at ``at`` (None: all are)."""
        if self.audit_years is None:
            return None
        try:
            return at.replace(year=at.year - self.audit_years)
        except ValueError:  # 29 February, in a year that has none
            return at.replace(year=at.year - self.audit_years, day=28)


@dataclasses.dataclass(frozen=True, slots=True)
class Due:
    """What a retention policy would move to the trash now: (kind, id, label) each."""

    runs: tuple[tuple[str, str], ...]  # (id, name)
    versions: tuple[tuple[str, str], ...]  # (id, "dataset vN")
    audit_events: int = 0  # audit events to empty (they do not go through the trash)
    audit_before: datetime | None = None
