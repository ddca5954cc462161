"""Tasks and their links to the objects they are about."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.collaboration import TaskRecord
from hub.store._rows import among, maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.hidden import live

_FIELDS = [f.name for f in dataclasses.fields(TaskRecord) if f.name != "links"]
_COLUMNS = ", ".join(_FIELDS)


def _with_links(cur: Cursor, rows: list[tuple[Any, ...]]) -> list[TaskRecord]:
    ids = [row[0] for row in rows]
    links: dict[str, list[tuple[str, str]]] = {}
    if ids:
        for task_id, kind, target_id in cur.execute(
            "SELECT task_id, target_kind, target_id FROM task_links "
            f"WHERE task_id IN {among(ids)} ORDER BY target_kind, target_id",
            ids,
        ).fetchall():
            links.setdefault(task_id, []).append((kind, target_id))
    found = []
    for row in rows:
        values = dict(zip(_FIELDS, row, strict=True))
        values["created_at"] = to_utc(values["created_at"])
        values["updated_at"] = to_utc(values["updated_at"])
        values["closed_at"] = maybe_utc(values["closed_at"])
        found.append(TaskRecord(**values, links=tuple(links.get(row[0], []))))
    return found


def _select(cur: Cursor, where: str, params: list[Any], limit: int = 500) -> list[TaskRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM tasks WHERE ({where}) AND {live('task', 'id')} "
        "ORDER BY (status = 'done'), due_date NULLS LAST, number LIMIT ?",
        [*params, limit],
    ).fetchall()
    return _with_links(cur, rows)


def _set_links(cur: Cursor, task_id: str, links: Sequence[tuple[str, str]]) -> None:
    cur.execute("DELETE FROM task_links WHERE task_id = ?", [task_id])
    if links:
        cur.executemany(
            "INSERT INTO task_links VALUES (?, ?, ?)",
            [[task_id, kind, target_id] for kind, target_id in links],
        )


def _insert(cur: Cursor, task: TaskRecord) -> TaskRecord:
    row = cur.execute(
        "SELECT coalesce(max(number), 0) + 1 FROM tasks WHERE project_id = ?", [task.project_id]
    ).fetchone()
    task = dataclasses.replace(task, number=int(row[0]) if row else 1)
    values = [
        to_naive(getattr(task, f)) if isinstance(getattr(task, f), datetime) else getattr(task, f)
        for f in _FIELDS
    ]
    cur.execute(f"INSERT INTO tasks ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
    _set_links(cur, task.id, task.links)
    return task


def _update(cur: Cursor, task: TaskRecord) -> TaskRecord:
    changed = [
        f for f in _FIELDS if f not in ("id", "project_id", "number", "created_by", "created_at")
    ]
    values = [
        to_naive(getattr(task, f)) if isinstance(getattr(task, f), datetime) else getattr(task, f)
        for f in changed
    ]
    cur.execute(
        f"UPDATE tasks SET {', '.join(f'{f} = ?' for f in changed)} WHERE id = ?",
        [*values, task.id],
    )
    _set_links(cur, task.id, task.links)
    return task


def _close_with_run(cur: Cursor, run_id: str, at: datetime) -> list[TaskRecord]:
    """Open tasks linked to the run that close when it finishes: mark them done."""
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM tasks WHERE close_with_run AND status <> 'done' "
        f"AND {live('task', 'id')} AND id IN "
        "(SELECT task_id FROM task_links WHERE target_kind = 'run' AND target_id = ?)",
        [run_id],
    ).fetchall()
    closing = _with_links(cur, rows)
    for task in closing:
        cur.execute(
            "UPDATE tasks SET status = 'done', closed_at = ?, updated_at = ? WHERE id = ?",
            [to_naive(at), to_naive(at), task.id],
        )
    return closing


class TaskStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        task: TaskRecord,
        *,
        audit: Sequence[EventDraft] | Callable[[TaskRecord], Sequence[EventDraft]],
    ) -> TaskRecord:
        """Store a new task, numbered next in its project (``audit`` may depend on it)."""
        return await self._db.audited_write(audit, _insert, task)

    async def update(self, task: TaskRecord, *, audit: Sequence[EventDraft]) -> TaskRecord:
        return await self._db.audited_write(audit, _update, task)

    async def by_id(self, task_id: str) -> TaskRecord | None:
        found = await self._db.read(_select, "id = ?", [task_id], 1)
        return found[0] if found else None

    async def of_project(self, project_id: str) -> list[TaskRecord]:
        return await self._db.read(_select, "project_id = ?", [project_id])

    async def assigned_to(self, user_id: str) -> list[TaskRecord]:
        return await self._db.read(_select, "assignee_id = ? AND status <> 'done'", [user_id])

    async def runs_closing_tasks(self, run_ids: list[str]) -> set[str]:
        """Which of these runs have open tasks linked that close when the run finishes."""
        if not run_ids:
            return set()
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT DISTINCT l.target_id FROM task_links l JOIN tasks t ON t.id = l.task_id "
                "WHERE t.close_with_run AND t.status <> 'done' AND l.target_kind = 'run' "
                f"AND {live('task', 't.id')} "
                f"AND l.target_id IN {among(run_ids)}",
                run_ids,
            ).fetchall()
        )
        return {row[0] for row in rows}

    async def close_with_run(
        self,
        run_id: str,
        at: datetime,
        *,
        audit: Callable[[list[TaskRecord]], Sequence[EventDraft]],
    ) -> list[TaskRecord]:
        return await self._db.audited_write(audit, _close_with_run, run_id, at)
