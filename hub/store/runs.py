"""Runs with their params, tags and notes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from hub.domain.audit import EventDraft
from hub.domain.tracking import (
    KeyValue,
    PointChunk,
    RunEnd,
    RunInputRecord,
    RunPage,
    RunRecord,
    RunStart,
)
from hub.errors import Conflict, NotFound
from hub.run_filter import Filter, SortKey
from hub.store._rows import (
    affected,
    among,
    insert_rows,
    mapping_of,
    one_of,
    record_of,
    row_of,
    to_naive,
)
from hub.store.database import Cursor, Database
from hub.store.hidden import live
from hub.store.metric_ingest import PutPoints, ingest_batch, ingest_chunks
from hub.store.run_rows import RUN_COLUMNS, run_from_row
from hub.store.run_search import search_runs

_RUN_INSERT = (
    "id, project_id, experiment_id, name, status, user_name, notes, started_at, ended_at, "
    "git_commit, git_dirty, command, python_version, host, packages, created_by"
)


def _insert_runs(cur: Cursor, starts: Sequence[RunStart]) -> None:
    """Runs with their first params and tags, whatever their number, in three statements."""
    rows = []
    for start in starts:
        run, env = start.run, start.run.environment
        rows.append(
            (
                run.id,
                run.project_id,
                run.experiment_id,
                run.name,
                run.status,
                run.user_name,
                run.notes,
                to_naive(run.started_at),
                to_naive(run.ended_at),
                env.git_commit,
                env.git_dirty,
                env.command,
                env.python_version,
                env.host,
                json.dumps(list(env.packages)),
                run.created_by,
            )
        )
    insert_rows(cur, "runs", _RUN_INSERT, rows)
    for table in ("params", "tags"):
        pairs = [(s.run.id, k, v) for s in starts for k, v in dict(getattr(s, table)).items()]
        insert_rows(cur, table, "run_id, key, value", pairs)


def _append_pairs(cur: Cursor, table: str, run_id: str, pairs: dict[str, str]) -> None:
    """One INSERT for all pairs (``executemany`` costs a statement per row in DuckDB)."""
    assert table in ("params", "tags")
    if pairs:
        cur.execute(
            f"INSERT INTO {table} (run_id, key, value) SELECT ?, unnest(?), unnest(?)",
            [run_id, list(pairs), list(pairs.values())],
        )


def _insert_params(cur: Cursor, run_id: str, params: Sequence[tuple[str, str]]) -> int:
    """Add params; a key already set to another value is refused (params are immutable)."""
    if not params:
        return 0
    keys = [key for key, _ in params]
    existing = dict(
        cur.execute(
            f"SELECT key, value FROM params WHERE run_id = ? AND key IN {among(keys)}",
            [run_id, *keys],
        ).fetchall()
    )
    new: dict[str, str] = {}
    for key, value in params:
        old = existing.get(key, new.get(key))
        if old is not None and old != value:
            raise Conflict(
                f"Param {key!r} is already {old!r} on this run; params are immutable. "
                "Log the new value under another name or start a new run.",
                field="params",
            )
        if old is None:
            new[key] = value
    _append_pairs(cur, "params", run_id, new)
    return len(new)


def _upsert_tags(cur: Cursor, run_id: str, tags: Sequence[tuple[str, str]]) -> None:
    if not tags:
        return
    final = dict(tags)
    cur.execute(
        f"DELETE FROM tags WHERE run_id = ? AND key IN {among(list(final))}", [run_id, *final]
    )
    _append_pairs(cur, "tags", run_id, final)


def _require_run(cur: Cursor, run_id: str) -> None:
    if cur.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is None:
        raise NotFound(f"No run with id {run_id!r}.")


def _add_params(cur: Cursor, run_id: str, params: Sequence[tuple[str, str]]) -> int:
    _require_run(cur, run_id)
    return _insert_params(cur, run_id, params)


def _set_tags(cur: Cursor, run_id: str, tags: Sequence[tuple[str, str]]) -> None:
    _require_run(cur, run_id)
    _upsert_tags(cur, run_id, tags)


def _delete_tag(cur: Cursor, run_id: str, key: str) -> None:
    _require_run(cur, run_id)
    if not affected(cur, "DELETE FROM tags WHERE run_id = ? AND key = ?", [run_id, key]):
        raise NotFound(f"No tag with name: {key} in run with id {run_id}", field="key")


def _update(cur: Cursor, run_id: str, assignments: dict[str, Any]) -> RunRecord:
    columns = ", ".join(f"{column} = ?" for column in assignments)
    if not affected(
        cur, f"UPDATE runs SET {columns} WHERE id = ?", [*assignments.values(), run_id]
    ):
        raise NotFound(f"No run with id {run_id!r}.")
    row = cur.execute(f"SELECT {RUN_COLUMNS} FROM runs r WHERE r.id = ?", [run_id]).fetchone()
    assert row is not None
    return run_from_row(row)


def _finish(cur: Cursor, run_id: str, was: str, assignments: dict[str, Any]) -> RunRecord:
    found = cur.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()
    if found is None:
        raise NotFound(f"No run with id {run_id!r}.")
    if found[0] != was:  # another finish came first
        raise Conflict(f"The run ended {found[0]} meanwhile; a run's final status does not change.")
    return _update(cur, run_id, assignments)


def _log_batch(
    cur: Cursor,
    put: PutPoints,
    run_id: str,
    params: Sequence[tuple[str, str]],
    tags: Sequence[tuple[str, str]],
    points: pa.Table,
) -> int:
    _require_run(cur, run_id)
    _insert_params(cur, run_id, params)
    _upsert_tags(cur, run_id, tags)
    if not points.num_rows:
        return 0
    return ingest_batch(cur, put, run_id, None, points, skip_repeats=True)


def _apply_batch(
    cur: Cursor,
    put: PutPoints,
    starts: Sequence[RunStart],
    chunks: Sequence[PointChunk],
    ends: Sequence[RunEnd],
) -> tuple[dict[str, int], set[str]]:
    """Points stored by run, and the runs whose start or end was stored already (a batch sent
    again while its first sending was still being written)."""
    ids = [start.run.id for start in starts]
    present: dict[str, tuple[Any, ...]] = {}
    if ids:  # a batch of points and ends only: nothing to ask
        rows = cur.execute(
            f"SELECT id, project_id, created_by FROM runs WHERE id IN {among(ids)}", ids
        ).fetchall()
        present = {row[0]: row[1:] for row in rows}
    for start in starts:
        if present.get(start.run.id, (start.run.project_id, start.run.created_by)) != (
            start.run.project_id,
            start.run.created_by,
        ):
            raise Conflict(f"The run id {start.run.id!r} is taken.", field="id")
    fresh = [start for start in starts if start.run.id not in present]
    if fresh:
        _insert_runs(cur, fresh)
    new_runs = frozenset(start.run.id for start in fresh)
    stored = ingest_chunks(cur, put, chunks, new_runs=new_runs) if chunks else {}
    repeated = set(present)
    for end in ends:
        found = cur.execute("SELECT status FROM runs WHERE id = ?", [end.run_id]).fetchone()
        if found is None:
            raise NotFound(f"No run with id {end.run_id!r}.")
        if found[0] == end.status:
            repeated.add(end.run_id)
            continue
        if found[0] != end.was:
            raise Conflict(
                f"The run ended {found[0]} meanwhile; a run's final status does not change."
            )
        _update(cur, end.run_id, {"status": end.status, "ended_at": to_naive(end.ended_at)})
    return stored, repeated


def _add_inputs(cur: Cursor, inputs: Sequence[RunInputRecord]) -> None:
    for item in inputs:
        cur.execute(
            "DELETE FROM run_inputs WHERE run_id = ? AND name = ? AND digest = ?",
            [item.run_id, item.name, item.digest],
        )
        cur.execute("INSERT INTO run_inputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row_of(item))


def _runs_by_ids(cur: Cursor, ids: list[str], trashed: bool, listed: bool) -> list[RunRecord]:
    """The runs with these ids; ``listed``: as one list (see ``one_of``)."""
    condition, params = one_of("r.id", ids, listed)
    rows = cur.execute(f"SELECT {RUN_COLUMNS} FROM runs r WHERE {condition}", params).fetchall()
    if not trashed and rows:  # a query of its own: joined in, it kept the index out
        condition, params = one_of("object_id", ids, listed)
        hidden = {
            row[0]
            for row in cur.execute(
                f"SELECT object_id FROM trashed WHERE kind = 'run' AND {condition}", params
            ).fetchall()
        }
        rows = [row for row in rows if row[0] not in hidden]
    return [run_from_row(row) for row in rows]


def _trashed_run_ids(cur: Cursor) -> frozenset[str]:
    """Every run in the trash."""
    rows = cur.execute("SELECT object_id FROM trashed WHERE kind = 'run'").fetchall()
    return frozenset(row[0] for row in rows)


def _key_values(cur: Cursor, table: str, run_ids: list[str], listed: bool) -> list[KeyValue]:
    assert table in ("params", "tags")
    condition, params = one_of("run_id", run_ids, listed)
    rows = cur.execute(
        f"SELECT run_id, key, value FROM {table} WHERE {condition} ORDER BY run_id, key", params
    ).fetchall()
    return [KeyValue(*row) for row in rows]


class RunStore:
    """Reads and writes runs, params, tags and notes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        run: RunRecord,
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
        *,
        audit: Sequence[EventDraft],
    ) -> None:
        """Store a new run with its first params and tags, in one transaction."""
        await self._db.audited_write(audit, _insert_runs, [RunStart(run, params, tags)])

    async def by_ids(self, ids: list[str], *, trashed: bool = False) -> dict[str, RunRecord]:
        """The runs with these ids; those in the trash only with ``trashed``."""
        if not ids:
            return {}
        shared = self._db.backend.shared  # then nothing is kept: one read asks both tables
        if trashed or shared:
            found = await self._db.read_kept(_runs_by_ids, ids, trashed, not shared)
            return {run.id: run for run in found}
        # The trash's runs are kept until the trash changes, which is rare, so that a lookup of a
        # few runs (every curve, comparison and check asks for some) is one statement, not two.
        hidden = await self._db.read_kept(_trashed_run_ids)
        with_trashed = await self._db.read_kept(_runs_by_ids, ids, True, True)
        return {run.id: run for run in with_trashed if run.id not in hidden}

    async def add_params(
        self, run_id: str, params: Sequence[tuple[str, str]], *, audit: Sequence[EventDraft]
    ) -> int:
        """Add params to a run; returns how many were new. Raises Conflict on a changed value."""
        return await self._db.audited_write(audit, _add_params, run_id, params)

    async def set_tags(
        self, run_id: str, tags: Sequence[tuple[str, str]], *, audit: Sequence[EventDraft]
    ) -> None:
        """Set (or overwrite) tags on a run."""
        await self._db.audited_write(audit, _set_tags, run_id, tags)

    async def delete_tag(self, run_id: str, key: str, *, audit: Sequence[EventDraft]) -> None:
        """Remove a tag from a run; NotFound when the run has no such tag."""
        await self._db.audited_write(audit, _delete_tag, run_id, key)

    async def rename(self, run_id: str, name: str, *, audit: Sequence[EventDraft]) -> RunRecord:
        """Give the run another name; returns the updated run."""
        return await self._db.audited_write(audit, _update, run_id, {"name": name})

    async def set_notes(self, run_id: str, notes: str, *, audit: Sequence[EventDraft]) -> RunRecord:
        """Replace a run's notes; returns the updated run."""
        return await self._db.audited_write(audit, _update, run_id, {"notes": notes})

    async def finish(
        self,
        run_id: str,
        status: str,
        ended_at: datetime,
        *,
        was: str,
        audit: Sequence[EventDraft],
    ) -> RunRecord:
        """Set a run's final status and end time, if its status is still ``was`` (else Conflict,
        and nothing is written); returns the updated run."""
        return await self._db.audited_write(
            audit, _finish, run_id, was, {"status": status, "ended_at": to_naive(ended_at)}
        )

    async def resume(self, run_id: str, *, audit: Sequence[EventDraft]) -> RunRecord:
        """Set an ended run running again (a resumed training job)."""
        return await self._db.audited_write(
            audit, _update, run_id, {"status": "running", "ended_at": None}
        )

    async def params_for(self, run_ids: list[str]) -> list[KeyValue]:
        return await self._key_values("params", run_ids)

    async def tags_for(self, run_ids: list[str]) -> list[KeyValue]:
        return await self._key_values("tags", run_ids)

    async def _key_values(self, table: str, run_ids: list[str]) -> list[KeyValue]:
        if not run_ids:
            return []
        listed = not self._db.backend.shared
        return await self._db.read_kept(_key_values, table, run_ids, listed)

    async def log_batch(
        self,
        run_id: str,
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
        points: pa.Table,
        *,
        audit: Sequence[EventDraft],
    ) -> int:
        """Params, tags and metric points (``metrics.BATCH_SCHEMA``) in one transaction: all
        are stored or none; points equal to stored ones are skipped. Returns the points
        stored."""
        return await self._db.audited_write(
            audit, _log_batch, self._db.put_points, run_id, params, tags, points
        )

    async def apply_batch(
        self,
        starts: Sequence[RunStart],
        chunks: Sequence[PointChunk],
        ends: Sequence[RunEnd],
        *,
        audit: Callable[[tuple[dict[str, int], set[str]]], Sequence[EventDraft]],
    ) -> tuple[dict[str, int], set[str]]:
        """Many runs' starts, points and ends in one transaction: new runs, then each chunk
        of points once, then the ends (Conflict if a run's status is no longer ``was``).
        Returns the points stored by run and the runs whose start or end was stored already;
        the events are a function of both."""
        return await self._db.audited_write(
            audit, _apply_batch, self._db.put_points, starts, chunks, ends
        )

    async def add_inputs(
        self, inputs: Sequence[RunInputRecord], *, audit: Sequence[EventDraft]
    ) -> None:
        """Datasets runs read; the same dataset (name and digest) logged again replaces it."""
        await self._db.audited_write(audit, _add_inputs, inputs)

    async def inputs_for(self, run_ids: list[str]) -> list[RunInputRecord]:
        if not run_ids:
            return []
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT * FROM run_inputs WHERE run_id IN {among(run_ids)} "
                "ORDER BY run_id, logged_at",
                run_ids,
            ).fetchall()
        )
        return [record_of(RunInputRecord, row, {"tags": mapping_of}) for row in rows]

    async def param_keys(self, project_id: str) -> list[str]:
        """Distinct param names used in a project, for pickers and autocompletion."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT DISTINCT p.key FROM params p JOIN runs r ON r.id = p.run_id "
                f"WHERE r.project_id = ? AND {live('run', 'r.id')} ORDER BY p.key",
                [project_id],
            ).fetchall()
        )
        return [row[0] for row in rows]

    async def search(
        self,
        project_ids: list[str],
        where: Filter | None,
        order_by: list[SortKey],
        limit: int,
        offset: int,
        snapshot: str | None = None,
        count: bool = True,
        view: str = "live",
    ) -> RunPage:
        """Runs of the projects matching ``where``, sorted, one page at ``offset``; with
        ``snapshot``, only runs that existed when the first page was read; ``view``: live
        runs, those in the trash, or all."""
        return await self._db.read_kept(
            search_runs, project_ids, where, order_by, limit, offset, snapshot, count, view
        )
