"""MLflow 3 logged models and the runs' outputs that name them."""

from __future__ import annotations

from collections.abc import Sequence

from hub.domain.audit import EventDraft
from hub.domain.tracking import LoggedModelMetric, LoggedModelRecord, RunModelInput, RunOutput
from hub.errors import NotFound
from hub.store._rows import among, mapping_of, record_of, row_of
from hub.store.database import Cursor, Database
from hub.store.hidden import live

_COLUMNS = (
    "id, project_id, experiment_id, run_id, name, model_type, status, status_message, params, "
    "tags, created_by, created_at, updated_at"
)

_DECODERS = {"params": mapping_of, "tags": mapping_of}


def _create(cur: Cursor, model: LoggedModelRecord) -> LoggedModelRecord:
    marks = ", ".join("?" for _ in _COLUMNS.split(","))
    cur.execute(f"INSERT INTO logged_models ({_COLUMNS}) VALUES ({marks})", row_of(model))
    return model


# A logged model in the trash, or in an experiment there, is not found.
_LIVE = f"{live('logged_model', 'id')} AND {live('experiment', 'experiment_id')}"


def _by_ids(cur: Cursor, ids: list[str]) -> list[LoggedModelRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM logged_models WHERE id IN {among(ids)} AND {_LIVE}", ids
    ).fetchall()
    return [record_of(LoggedModelRecord, row, _DECODERS) for row in rows]


def _replace(cur: Cursor, model: LoggedModelRecord) -> LoggedModelRecord:
    if not _by_ids(cur, [model.id]):
        raise NotFound(f"No logged model with id {model.id!r}.")
    cur.execute("DELETE FROM logged_models WHERE id = ?", [model.id])
    return _create(cur, model)


def _in_experiments(
    cur: Cursor, experiment_ids: list[str], name: str | None, limit: int, offset: int
) -> list[LoggedModelRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM logged_models WHERE experiment_id IN {among(experiment_ids)} "
        f"AND {_LIVE} AND (?::VARCHAR IS NULL OR name = ?) "
        "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        [*experiment_ids, name, name, limit, offset],
    ).fetchall()
    return [record_of(LoggedModelRecord, row, _DECODERS) for row in rows]


def _add_outputs(cur: Cursor, outputs: list[RunOutput]) -> None:
    for output in outputs:
        cur.execute(
            "DELETE FROM run_outputs WHERE run_id = ? AND model_id = ?",
            [output.run_id, output.model_id],
        )
    cur.execute(
        "INSERT INTO run_outputs SELECT unnest(?), unnest(?), unnest(?)",
        [[o.run_id for o in outputs], [o.model_id for o in outputs], [o.step for o in outputs]],
    )


def _add_inputs(cur: Cursor, inputs: list[RunModelInput]) -> None:
    for item in inputs:
        cur.execute(
            "DELETE FROM run_model_inputs WHERE run_id = ? AND model_id = ?",
            [item.run_id, item.model_id],
        )
        cur.execute("INSERT INTO run_model_inputs VALUES (?, ?)", [item.run_id, item.model_id])


def _inputs(cur: Cursor, run_ids: list[str]) -> list[RunModelInput]:
    rows = cur.execute(
        f"SELECT run_id, model_id FROM run_model_inputs WHERE run_id IN {among(run_ids)} "
        "ORDER BY run_id, model_id",
        run_ids,
    ).fetchall()
    return [RunModelInput(*row) for row in rows]


def _outputs(cur: Cursor, run_ids: list[str]) -> list[RunOutput]:
    rows = cur.execute(
        f"SELECT run_id, model_id, step FROM run_outputs WHERE run_id IN {among(run_ids)} "
        "ORDER BY run_id, model_id",
        run_ids,
    ).fetchall()
    return [RunOutput(*row) for row in rows]


_METRIC_COLUMNS = "model_id, run_id, key, value, step, ts, dataset_name, dataset_digest"


def _add_metrics(cur: Cursor, metrics: Sequence[LoggedModelMetric]) -> None:
    missing = sorted(
        {m.model_id for m in metrics}
        - {m.id for m in _by_ids(cur, sorted({m.model_id for m in metrics}))}
    )
    if missing:
        raise NotFound(f"No logged model with id {missing[0]!r}.", field="model_id")
    cur.executemany(
        f"INSERT INTO logged_model_metrics ({_METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                m.model_id,
                m.run_id,
                m.key,
                m.value,
                m.step,
                m.timestamp,
                m.dataset_name,
                m.dataset_digest,
            ]
            for m in metrics
        ],
    )


def _metrics(cur: Cursor, model_ids: list[str]) -> list[LoggedModelMetric]:
    rows = cur.execute(
        f"SELECT {_METRIC_COLUMNS} FROM logged_model_metrics WHERE model_id IN "
        f"{among(model_ids)} ORDER BY model_id, key, step, ts",
        model_ids,
    ).fetchall()
    return [LoggedModelMetric(*row) for row in rows]


class LoggedModelStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, model: LoggedModelRecord, *, audit: Sequence[EventDraft]
    ) -> LoggedModelRecord:
        return await self._db.audited_write(audit, _create, model)

    async def by_ids(self, ids: list[str]) -> dict[str, LoggedModelRecord]:
        if not ids:
            return {}
        return {m.id: m for m in await self._db.read(_by_ids, ids)}

    async def replace(
        self, model: LoggedModelRecord, *, audit: Sequence[EventDraft]
    ) -> LoggedModelRecord:
        """Store the changed model (status, tags, params, update time) in place of the old."""
        return await self._db.audited_write(audit, _replace, model)

    async def in_experiments(
        self, experiment_ids: list[str], name: str | None, limit: int, offset: int
    ) -> list[LoggedModelRecord]:
        """Newest first; only those called ``name`` when given."""
        return await self._db.read(_in_experiments, experiment_ids, name, limit, offset)

    async def add_outputs(self, outputs: list[RunOutput], *, audit: Sequence[EventDraft]) -> None:
        if outputs:
            await self._db.audited_write(audit, _add_outputs, outputs)

    async def add_metrics(
        self, metrics: Sequence[LoggedModelMetric], *, audit: Sequence[EventDraft]
    ) -> None:
        """Record metrics with their logged models; NotFound naming a model that is not there."""
        await self._db.audited_write(audit, _add_metrics, metrics)

    async def metrics(self, model_ids: list[str]) -> list[LoggedModelMetric]:
        """The models' metrics, by model, key and step."""
        return await self._db.read(_metrics, model_ids) if model_ids else []

    async def add_inputs(self, inputs: list[RunModelInput], *, audit: Sequence[EventDraft]) -> None:
        await self._db.audited_write(audit, _add_inputs, inputs)

    async def inputs(self, run_ids: list[str]) -> list[RunModelInput]:
        return await self._db.read(_inputs, run_ids) if run_ids else []

    async def outputs(self, run_ids: list[str]) -> list[RunOutput]:
        return await self._db.read(_outputs, run_ids) if run_ids else []
