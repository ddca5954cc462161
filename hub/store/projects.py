"""Projects and experiments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import MembershipRecord
from hub.domain.tracking import ExperimentRecord, ProjectRecord
from hub.store._rows import among, to_naive, to_utc
from hub.store.access import insert_membership
from hub.store.database import Cursor, Database
from hub.store.hidden import live
from hub.store.trash import keep_name

_PROJECT_COLUMNS = "id, name, description, created_at, created_by"
_EXPERIMENT_COLUMNS = "id, project_id, name, description, created_at, created_by"


def _project(row: tuple[Any, ...]) -> ProjectRecord:
    return ProjectRecord(row[0], row[1], row[2], to_utc(row[3]), row[4])


def _experiment(row: tuple[Any, ...]) -> ExperimentRecord:
    return ExperimentRecord(row[0], row[1], row[2], row[3], to_utc(row[4]), row[5])


def project_by_name(cur: Cursor, name: str, trashed: bool = False) -> ProjectRecord | None:
    """The project called ``name``; one in the trash only with ``trashed``."""
    shown = "" if trashed else f" AND {live('project', 'id')}"
    row = cur.execute(
        f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE name = ?{shown} ORDER BY id LIMIT 1",
        [name],
    ).fetchone()
    return None if row is None else _project(row)


def experiment_by_name(
    cur: Cursor, project_id: str, name: str, trashed: bool = False
) -> ExperimentRecord | None:
    """The project's experiment called ``name``; one in the trash only with ``trashed``."""
    shown = "" if trashed else f" AND {live('experiment', 'id')}"
    row = cur.execute(
        f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE project_id = ? AND name = ?"
        f"{shown} ORDER BY id LIMIT 1",
        [project_id, name],
    ).fetchone()
    return None if row is None else _experiment(row)


def insert_project(
    cur: Cursor, record: ProjectRecord, owner: MembershipRecord | None = None
) -> ProjectRecord:
    """Insert ``record`` (and its first member) unless a project of that name exists; return
    the stored one."""
    existing = project_by_name(cur, record.name, trashed=True)
    if existing is not None:
        keep_name(cur, "project", existing.id, existing.name)
        return existing
    if owner is not None:
        insert_membership(cur, owner)
    cur.execute(
        f"INSERT INTO projects ({_PROJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        [
            record.id,
            record.name,
            record.description,
            to_naive(record.created_at),
            record.created_by,
        ],
    )
    return record


def insert_experiment(cur: Cursor, record: ExperimentRecord) -> ExperimentRecord:
    """Insert ``record`` unless the project has an experiment of that name; return the stored."""
    existing = experiment_by_name(cur, record.project_id, record.name, trashed=True)
    if existing is not None:
        keep_name(cur, "experiment", existing.id, existing.name)
        return existing
    cur.execute(
        f"INSERT INTO experiments ({_EXPERIMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [
            record.id,
            record.project_id,
            record.name,
            record.description,
            to_naive(record.created_at),
            record.created_by,
        ],
    )
    return record


class ProjectStore:
    """Reads and writes projects and experiments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        record: ProjectRecord,
        owner: MembershipRecord | None = None,
        *,
        audit: Sequence[EventDraft],
    ) -> ProjectRecord:
        """Store a project with its first member, or return the existing one of the same name."""
        return await self._db.audited_write(audit, insert_project, record, owner)

    async def by_name(self, name: str, *, trashed: bool = False) -> ProjectRecord | None:
        """The project called ``name``; one in the trash only with ``trashed``."""
        return await self._db.read(project_by_name, name, trashed)

    async def experiment_by_name(self, project_id: str, name: str) -> ExperimentRecord | None:
        return await self._db.read(experiment_by_name, project_id, name)

    async def by_ids(self, ids: list[str]) -> dict[str, ProjectRecord]:
        if not ids:
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id IN {among(ids)} "
                f"AND {live('project', 'id')}",
                ids,
            ).fetchall()
        )
        return {row[0]: _project(row) for row in rows}

    async def all(self) -> list[ProjectRecord]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE {live('project', 'id')} "
                "ORDER BY name"
            ).fetchall()
        )
        return [_project(row) for row in rows]

    async def create_experiment(
        self, record: ExperimentRecord, *, audit: Sequence[EventDraft]
    ) -> ExperimentRecord:
        """Store an experiment, or return the project's existing one of the same name."""
        return await self._db.audited_write(audit, insert_experiment, record)

    async def experiments(self, project_ids: list[str]) -> list[ExperimentRecord]:
        """Every experiment of the given projects, by name."""
        if not project_ids:
            return []
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments "
                f"WHERE project_id IN {among(project_ids)} AND {live('experiment', 'id')} "
                "ORDER BY name",
                project_ids,
            ).fetchall()
        )
        return [_experiment(row) for row in rows]

    async def experiments_by_ids(self, ids: list[str]) -> dict[str, ExperimentRecord]:
        if not ids:
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id IN {among(ids)} "
                f"AND {live('experiment', 'id')}",
                ids,
            ).fetchall()
        )
        return {row[0]: _experiment(row) for row in rows}

    async def run_counts(self, project_ids: list[str]) -> dict[str, int]:
        """Number of runs per project."""
        if not project_ids:
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT project_id, count(*) FROM runs WHERE project_id IN {among(project_ids)} "
                f"AND {live('run', 'id')} GROUP BY project_id",
                project_ids,
            ).fetchall()
        )
        return {row[0]: int(row[1]) for row in rows}
