"""The model registry: models, versions, aliases and their moves, policies, checks, reviews."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.registry import (
    AliasMove,
    ModelAlias,
    ModelCheck,
    ModelRecord,
    ModelReview,
    ModelVersionRecord,
    Policy,
)
from hub.errors import AlreadyExists, Conflict
from hub.store._rows import (
    Decoders,
    among,
    columns_of,
    encoded,
    insert_rows,
    mapping_of,
    policy_of,
    qualified,
    record_of,
    row_of,
    spec_of,
    to_naive,
)
from hub.store.database import Cursor, Database
from hub.store.hidden import live

R = TypeVar("R")
TABLES: dict[type[Any], str] = {
    ModelRecord: "models",
    ModelVersionRecord: "model_versions",
    ModelAlias: "model_aliases",
    AliasMove: "model_alias_moves",
    ModelCheck: "model_checks",
    ModelReview: "model_reviews",
}
_COLUMNS = {
    ModelRecord: "id, project_id, name, description, created_by, created_at, updated_at",
    ModelVersionRecord: "id, model_id, project_id, number, run_id, source, description, tags, "
    "input_schema, policy, created_by, created_at, run_reference, updated_at",
    ModelAlias: "model_id, alias, version_id, moved_by, moved_at",
    AliasMove: "id, model_id, alias, version_id, previous_id, moved_by, moved_at, automatic",
    ModelCheck: "id, version_id, position, kind, spec, status, detail, job_id, log, started_at, "
    "ended_at",
    ModelReview: "id, version_id, user_id, verdict, body, reviewed_at",
}


_DECODERS: dict[type[Any], Decoders] = {
    ModelVersionRecord: {"tags": mapping_of, "inputs": columns_of, "policy": policy_of},
    ModelCheck: {"spec": spec_of},
}


def _record(kind: type[R], row: Sequence[Any]) -> R:
    return record_of(kind, row, _DECODERS.get(kind))


# Models and versions in the trash are left out of every list and lookup.
_SHOWN = {ModelRecord: live("model", "id"), ModelVersionRecord: live("model_version", "id")}


def _select(
    cur: Cursor,
    kind: type[R],
    where: str,
    params: list[Any],
    order: str,
    trashed: bool = False,
) -> list[R]:
    if kind in _SHOWN and not trashed:
        where = f"({where}) AND {_SHOWN[kind]}"
    rows = cur.execute(
        f"SELECT {_COLUMNS[kind]} FROM {TABLES[kind]} WHERE {where} ORDER BY {order}", params
    ).fetchall()
    return [_record(kind, row) for row in rows]


def _insert(cur: Cursor, item: Any) -> None:
    values = row_of(item)
    cur.execute(
        f"INSERT INTO {TABLES[type(item)]} ({_COLUMNS[type(item)]}) "
        f"VALUES ({', '.join('?' * len(values))})",
        values,
    )


def _model_named(cur: Cursor, project_id: str, name: str) -> ModelRecord | None:
    where = "project_id = ? AND lower(name) = lower(?)"
    found = _select(cur, ModelRecord, where, [project_id, name], "created_at")
    return found[0] if found else None


def _register(
    cur: Cursor, model: ModelRecord, version: ModelVersionRecord, checks: Sequence[ModelCheck]
) -> tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]:
    """The model (created when it is new: names are unique per project, checked here under
    the write lock) and its next version, with the checks its policy asks for."""
    existing = _name_holder(cur, model.project_id, model.name)
    if existing is None:
        _insert(cur, model)
    else:
        model = existing
    _touch(cur, "models", model.id, version.created_at)
    row = cur.execute(
        "SELECT coalesce(max(number), 0) + 1 FROM model_versions WHERE model_id = ?", [model.id]
    ).fetchone()
    version = dataclasses.replace(version, model_id=model.id, number=int(row[0]) if row else 1)
    _insert(cur, version)
    made = [dataclasses.replace(c, version_id=version.id) for c in checks]
    insert_rows(cur, TABLES[ModelCheck], _COLUMNS[ModelCheck], [row_of(c) for c in made])
    return model, version, made


def _name_holder(cur: Cursor, project_id: str, name: str) -> ModelRecord | None:
    """The model that holds ``name`` in the project, if any. A model in the trash gives its
    name up to a new model, as MLflow frees a deleted model's name: renamed ``NAME (trashed
    <id>)``, it can still be restored."""
    rows = cur.execute(
        f"SELECT {_COLUMNS[ModelRecord]}, NOT {live('model', 'id')} FROM models "
        "WHERE project_id = ? AND lower(name) = lower(?) ORDER BY created_at",
        [project_id, name],
    ).fetchall()
    for *columns, trashed in rows:
        model = _record(ModelRecord, columns)
        if not trashed:
            return model
        aside = f"{model.name} (trashed {model.id[:8]})"
        cur.execute("UPDATE models SET name = ? WHERE id = ?", [aside, model.id])
    return None


def _touch(cur: Cursor, table: str, object_id: str, at: datetime | None = None) -> None:
    """Record that a model or a version changed (MLflow's last_updated_timestamp)."""
    cur.execute(
        f"UPDATE {table} SET updated_at = ? WHERE id = ?", [to_naive(at or now()), object_id]
    )


def _policy(cur: Cursor, model_id: str) -> Policy:
    row = cur.execute("SELECT policy FROM model_policies WHERE model_id = ?", [model_id]).fetchone()
    return policy_of(row[0] if row else None)


def _set_policy(cur: Cursor, model_id: str, policy: Policy, by: str, at: datetime) -> None:
    cur.execute("DELETE FROM model_policies WHERE model_id = ?", [model_id])
    cur.execute(
        "INSERT INTO model_policies VALUES (?, ?, ?, ?)",
        [model_id, encoded(policy), by, to_naive(at)],
    )


def _move(cur: Cursor, move: AliasMove) -> AliasMove:
    """Point the alias at ``move.version_id`` (None removes it), but only if it still points
    where the caller saw it (``move.previous_id``): a concurrent move is a conflict."""
    row = cur.execute(
        "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
        [move.model_id, move.alias],
    ).fetchone()
    current = row[0] if row else None
    if current != move.previous_id:
        raise Conflict(
            f"The alias {move.alias!r} moved while you were deciding; look again.", field="alias"
        )
    cur.execute(
        "DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", [move.model_id, move.alias]
    )
    if move.version_id is not None:
        _insert(
            cur,
            ModelAlias(move.model_id, move.alias, move.version_id, move.moved_by, move.moved_at),
        )
    _insert(cur, move)
    # Moving an alias is MLflow's stage transition: the model and both versions changed.
    _touch(cur, "models", move.model_id, move.moved_at)
    for version_id in {move.version_id, move.previous_id} - {None}:
        _touch(cur, "model_versions", str(version_id), move.moved_at)
    return move


def _update_check(cur: Cursor, check: ModelCheck) -> ModelCheck:
    cur.execute(
        "UPDATE model_checks SET status = ?, detail = ?, job_id = ?, log = ?, started_at = ?, "
        "ended_at = ? WHERE id = ?",
        [
            check.status,
            check.detail,
            check.job_id,
            check.log,
            to_naive(check.started_at),
            to_naive(check.ended_at),
            check.id,
        ],
    )
    return check


def _replace_checks(cur: Cursor, version_id: str, checks: Sequence[ModelCheck]) -> None:
    cur.execute("DELETE FROM model_checks WHERE version_id = ?", [version_id])
    for check in checks:
        _insert(cur, check)


class ModelStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _list(self, kind: type[R], where: str, params: list[Any], order: str) -> list[R]:
        if params and params[0] == []:
            return []  # no ids asked for: no query
        return await self._db.read(_select, kind, where, params, order)

    # models and versions

    async def named(self, project_id: str, name: str) -> ModelRecord | None:
        return await self._db.read(_model_named, project_id, name)

    async def named_with_policy(
        self, project_id: str, name: str
    ) -> tuple[ModelRecord | None, Policy]:
        """The model of that name and its policy (the default one for a new model), in one
        read."""

        def read(cur: Cursor) -> tuple[ModelRecord | None, Policy]:
            model = _model_named(cur, project_id, name)
            return model, _policy(cur, model.id) if model else Policy()

        return await self._db.read(read)

    async def of_project(self, project_id: str) -> list[ModelRecord]:
        return await self._list(ModelRecord, "project_id = ?", [project_id], "lower(name)")

    async def by_ids(self, ids: list[str]) -> dict[str, ModelRecord]:
        if not ids:  # a run's page with no model versions asks for none
            return {}
        found = await self._list(ModelRecord, f"id IN {among(ids)}", ids, "id")
        return {m.id: m for m in found}

    async def versions(self, model_id: str) -> list[ModelVersionRecord]:
        return await self._list(ModelVersionRecord, "model_id = ?", [model_id], "number DESC")

    async def versions_by_ids(self, ids: list[str]) -> dict[str, ModelVersionRecord]:
        if not ids:
            return {}
        found = await self._list(ModelVersionRecord, f"id IN {among(ids)}", ids, "id")
        return {v.id: v for v in found}

    async def versions_of_runs(self, run_ids: list[str]) -> list[ModelVersionRecord]:
        if not run_ids:
            return []
        return await self._list(
            ModelVersionRecord, f"run_id IN {among(run_ids)}", run_ids, "created_at"
        )

    async def register(
        self,
        model: ModelRecord,
        version: ModelVersionRecord,
        checks: Sequence[ModelCheck],
        *,
        audit: Callable[
            [tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]], Sequence[EventDraft]
        ],
    ) -> tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]:
        return await self._db.audited_write(audit, _register, model, version, checks)

    async def create(self, model: ModelRecord, *, audit: Sequence[EventDraft]) -> ModelRecord:
        """A new model; a model of that name made meanwhile is a conflict."""

        def write(cur: Cursor) -> ModelRecord:
            if _name_holder(cur, model.project_id, model.name) is not None:
                said = f"There is a model named {model.name!r} already."
                raise AlreadyExists(said, field="name")
            _insert(cur, model)
            return model

        return await self._db.audited_write(audit, write)

    async def rename(
        self, model: ModelRecord, name: str, *, audit: Sequence[EventDraft]
    ) -> ModelRecord:
        """Give the model another name in its project; AlreadyExists when one has it."""

        def write(cur: Cursor) -> ModelRecord:
            holder = _name_holder(cur, model.project_id, name)
            if holder is not None and holder.id != model.id:
                said = f"There is a model named {name!r} already."
                raise AlreadyExists(said, field="name")
            cur.execute("UPDATE models SET name = ? WHERE id = ?", [name, model.id])
            _touch(cur, "models", model.id)
            return dataclasses.replace(model, name=name)

        return await self._db.audited_write(audit, write)

    async def describe(
        self, model_id: str, description: str, *, audit: Sequence[EventDraft]
    ) -> None:
        def write(cur: Cursor) -> None:
            cur.execute("UPDATE models SET description = ? WHERE id = ?", [description, model_id])
            _touch(cur, "models", model_id)

        await self._db.audited_write(audit, write)

    async def describe_version(
        self, version_id: str, description: str, *, audit: Sequence[EventDraft]
    ) -> None:
        def write(cur: Cursor) -> None:
            cur.execute(
                "UPDATE model_versions SET description = ? WHERE id = ?", [description, version_id]
            )
            _touch(cur, "model_versions", version_id)

        await self._db.audited_write(audit, write)

    async def set_version_tags(
        self, version_id: str, tags: Mapping[str, str], *, audit: Sequence[EventDraft]
    ) -> None:
        def write(cur: Cursor) -> None:
            cur.execute(
                "UPDATE model_versions SET tags = ? WHERE id = ?", [encoded(tags), version_id]
            )

        await self._db.audited_write(audit, write)

    # tags of models

    async def tags(self, model_ids: list[str]) -> dict[str, dict[str, str]]:
        """Each model's tags, by model id."""

        def read(cur: Cursor) -> dict[str, dict[str, str]]:
            found: dict[str, dict[str, str]] = {}
            for model_id, key, value in cur.execute(
                f"SELECT model_id, key, value FROM model_tags WHERE model_id IN {among(model_ids)} "
                "ORDER BY model_id, key",
                model_ids,
            ).fetchall():
                found.setdefault(model_id, {})[key] = value
            return found

        return await self._db.read(read) if model_ids else {}

    async def set_tag(
        self, model_id: str, key: str, value: str | None, *, audit: Sequence[EventDraft]
    ) -> None:
        """Set a tag (``None`` removes it)."""

        def write(cur: Cursor) -> None:
            cur.execute("DELETE FROM model_tags WHERE model_id = ? AND key = ?", [model_id, key])
            if value is not None:
                cur.execute("INSERT INTO model_tags VALUES (?, ?, ?)", [model_id, key, value])

        await self._db.audited_write(audit, write)

    # policies

    async def policy(self, model_id: str) -> Policy:
        return await self._db.read(_policy, model_id)

    async def set_policy(
        self, model_id: str, policy: Policy, by: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _set_policy, model_id, policy, by, at)

    # aliases

    async def aliases(self, model_ids: list[str]) -> list[ModelAlias]:
        return await self._list(ModelAlias, f"model_id IN {among(model_ids)}", model_ids, "alias")

    async def aliased(self, model_id: str, aliases: list[str]) -> dict[str, ModelVersionRecord]:
        """The versions these aliases of the model point at, by alias, in one read."""
        if not aliases:
            return {}
        columns = qualified(_COLUMNS[ModelVersionRecord], "v")

        def read(cur: Cursor) -> dict[str, ModelVersionRecord]:
            rows = cur.execute(
                f"SELECT a.alias, {columns} FROM model_aliases a JOIN model_versions v "
                f"ON v.id = a.version_id WHERE a.model_id = ? AND a.alias IN {among(aliases)} "
                f"AND {live('model_version', 'v.id')}",
                [model_id, *aliases],
            ).fetchall()
            return {row[0]: _record(ModelVersionRecord, row[1:]) for row in rows}

        return await self._db.read(read)

    async def moves(self, model_id: str, limit: int = 200) -> list[AliasMove]:
        return await self._list(
            AliasMove, "model_id = ?", [model_id], f"moved_at DESC LIMIT {int(limit)}"
        )

    async def move(self, move: AliasMove, *, audit: Sequence[EventDraft]) -> AliasMove:
        return await self._db.audited_write(audit, _move, move)

    # checks

    async def checks(self, version_ids: list[str]) -> list[ModelCheck]:
        return await self._list(
            ModelCheck, f"version_id IN {among(version_ids)}", version_ids, "version_id, position"
        )

    async def pending_checks(self) -> list[ModelCheck]:
        return await self._list(
            ModelCheck,
            "kind = 'job' AND status IN ('queued', 'running')",
            [],
            "version_id, position",
        )

    async def update_check(
        self, check: ModelCheck, *, audit: Sequence[EventDraft] = ()
    ) -> ModelCheck:
        return await self._db.audited_write(audit, _update_check, check)

    async def replace_checks(
        self, version_id: str, checks: Sequence[ModelCheck], *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(audit, _replace_checks, version_id, checks)

    # the card's written sections

    async def card_sections(self, model_id: str) -> dict[str, str]:
        def read(cur: Cursor) -> dict[str, str]:
            rows = cur.execute(
                "SELECT section, body FROM model_card_sections WHERE model_id = ?", [model_id]
            ).fetchall()
            return {str(r[0]): str(r[1]) for r in rows}

        return await self._db.read(read)

    async def set_card_section(
        self,
        model_id: str,
        section: str,
        body: str,
        by: str,
        at: datetime,
        *,
        audit: Sequence[EventDraft],
    ) -> None:
        def write(cur: Cursor) -> None:
            cur.execute(
                "DELETE FROM model_card_sections WHERE model_id = ? AND section = ?",
                [model_id, section],
            )
            cur.execute(
                "INSERT INTO model_card_sections VALUES (?, ?, ?, ?, ?)",
                [model_id, section, body, by, to_naive(at)],
            )

        await self._db.audited_write(audit, write)

    # reviews

    async def reviews(self, version_ids: list[str]) -> list[ModelReview]:
        return await self._list(
            ModelReview, f"version_id IN {among(version_ids)}", version_ids, "reviewed_at"
        )

    async def review(self, review: ModelReview, *, audit: Sequence[EventDraft]) -> ModelReview:
        def write(cur: Cursor) -> ModelReview:
            _insert(cur, review)
            return review

        return await self._db.audited_write(audit, write)
