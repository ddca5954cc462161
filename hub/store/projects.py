"""Projects and experiments."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import MembershipRecord
from hub.domain.tracking import ExperimentRecord, ProjectRecord
from hub.errors import AlreadyExists, NotFound
from hub.store._rows import affected, among, to_naive, to_utc
from hub.store.access import insert_membership
from hub.store.database import Cursor, Database
from hub.store.hidden import live, shown
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


def _shown_by_ids(
    cur: Cursor, table: str, columns: str, kind: str, ids: list[str], view: str
) -> list[tuple[Any, ...]]:
    """Rows of ``table`` with these ids that ``view`` shows (see ``hidden.shown``)."""
    return cur.execute(
        f"SELECT {columns} FROM {table} WHERE id IN {among(ids)} AND {shown(kind, 'id', view)}",
        ids,
    ).fetchall()


def _projects_by_ids(cur: Cursor, ids: list[str]) -> list[ProjectRecord]:
    rows = _shown_by_ids(cur, "projects", _PROJECT_COLUMNS, "project", ids, "live")
    return [_project(row) for row in rows]


def _experiments_by_ids(cur: Cursor, ids: list[str], view: str) -> list[ExperimentRecord]:
    rows = _shown_by_ids(cur, "experiments", _EXPERIMENT_COLUMNS, "experiment", ids, view)
    return [_experiment(row) for row in rows]


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


def _rename_experiment(cur: Cursor, experiment_id: str, name: str) -> ExperimentRecord:
    row = cur.execute(
        f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?", [experiment_id]
    ).fetchone()
    if row is None:
        raise NotFound(f"No experiment with id {experiment_id!r}.", field="experiment_id")
    record = _experiment(row)
    taken = experiment_by_name(cur, record.project_id, name, trashed=True)
    if taken is not None and taken.id != experiment_id:
        keep_name(cur, "experiment", taken.id, taken.name, field="name")
        raise AlreadyExists(f"Experiment {name!r} already exists.", field="name")
    cur.execute("UPDATE experiments SET name = ? WHERE id = ?", [name, experiment_id])
    return dataclasses.replace(record, name=name)


def _set_experiment_tags(cur: Cursor, experiment_id: str, tags: Sequence[tuple[str, str]]) -> None:
    keys = [key for key, _ in tags]
    if keys:
        cur.execute(
            f"DELETE FROM experiment_tags WHERE experiment_id = ? AND key IN {among(keys)}",
            [experiment_id, *keys],
        )
        cur.executemany(
            "INSERT INTO experiment_tags VALUES (?, ?, ?)",
            [[experiment_id, key, value] for key, value in tags],
        )


def _delete_experiment_tag(cur: Cursor, experiment_id: str, key: str) -> None:
    if not affected(
        cur, "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", [experiment_id, key]
    ):
        raise NotFound(f"No tag with name: {key} in experiment {experiment_id}.", field="key")


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
        return await self._db.read_kept(project_by_name, name, trashed)

    async def experiment_by_name(
        self, project_id: str, name: str, *, trashed: bool = False
    ) -> ExperimentRecord | None:
        """The project's experiment called ``name``; one in the trash only with ``trashed``."""
        return await self._db.read_kept(experiment_by_name, project_id, name, trashed)

    async def by_ids(self, ids: list[str]) -> dict[str, ProjectRecord]:
        if not ids:
            return {}
        return {p.id: p for p in await self._db.read_kept(_projects_by_ids, ids)}

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

    async def experiments(
        self, project_ids: list[str], view: str = "live"
    ) -> list[ExperimentRecord]:
        """Every experiment of the given projects, by name (``view``: those in the trash
        left out, alone, or with the others)."""
        if not project_ids:
            return []
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments "
                f"WHERE project_id IN {among(project_ids)} AND {shown('experiment', 'id', view)} "
                "ORDER BY name",
                project_ids,
            ).fetchall()
        )
        return [_experiment(row) for row in rows]

    async def rename_experiment(
        self, experiment_id: str, name: str, *, audit: Sequence[EventDraft]
    ) -> ExperimentRecord:
        """Rename; AlreadyExists when the project has an experiment of that name (Conflict
        when it is in the trash)."""
        return await self._db.audited_write(audit, _rename_experiment, experiment_id, name)

    async def set_experiment_tags(
        self, experiment_id: str, tags: Sequence[tuple[str, str]], *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _set_experiment_tags, experiment_id, tags)

    async def delete_experiment_tag(
        self, experiment_id: str, key: str, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _delete_experiment_tag, experiment_id, key)

    async def experiment_tags(self, ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """The experiments' tags, by key."""
        if not ids:
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT experiment_id, key, value FROM experiment_tags "
                f"WHERE experiment_id IN {among(ids)} ORDER BY experiment_id, key",
                ids,
            ).fetchall()
        )
        found: dict[str, list[tuple[str, str]]] = {}
        for experiment_id, key, value in rows:
            found.setdefault(experiment_id, []).append((key, value))
        return found

    async def experiments_by_ids(
        self, ids: list[str], view: str = "live"
    ) -> dict[str, ExperimentRecord]:
        if not ids:
            return {}
        return {e.id: e for e in await self._db.read_kept(_experiments_by_ids, ids, view)}

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
