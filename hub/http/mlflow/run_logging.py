"""MLflow's calls that write to a run (``/api/2.0/mlflow/runs/log-*``, ``set-tag``,
``delete-tag``, ``log-inputs``, ``log-outputs``): metrics, params and tags in batches, the
datasets and models a run read and made. A write to a run in the trash is refused as MLflow
refuses writes to a deleted run.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import Response

from hub.clock import now
from hub.domain.tracking import (
    BATCH_SCHEMA,
    LoggedModelMetric,
    RunInputRecord,
)
from hub.errors import InvalidInput, LimitExceeded, NotFound
from hub.http.mlflow.protocol import (
    Fields,
    Handler,
    check_names,
    invalid,
    key_value,
    number,
    optional_text,
    pairs,
    parts,
    run_id_of,
    text,
    whole,
)
from hub.services.lifecycle import trash
from hub.services.tracking import logged_models, runs

if TYPE_CHECKING:
    pass

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000


def _active_run(handler: Handler) -> Handler:
    """Writing to a run in the trash is refused as MLflow refuses writes to a deleted run
    (rather than answered as if there were no such run)."""

    @functools.wraps(handler)
    async def checked(request: Request, fields: Fields) -> Fields | Response:
        try:
            return await handler(request, fields)
        except NotFound as missing:
            if missing.field != "runId":
                raise
            store, _, principal = parts(request)
            run_id = run_id_of(fields)
            if not await trash.run_is_trashed(store, principal, run_id):
                raise
            raise InvalidInput(
                f"The run {run_id} must be in the 'active' state. Current state is deleted "
                "(it is in the trash: restore it to write to it).",
                field="run_id",
            ) from None

    return checked


def _points(items: list[Any], where: str = "") -> pa.Table:
    """MLflow metrics as a batch of points: one pass in Arrow when every field has its plain
    type (whole steps and times, numeric values), one item at a time otherwise, to say which
    item is wrong or to read "NaN" and "Infinity"."""
    try:
        keys = pa.array([item["key"] for item in items], pa.string())
        steps = pa.array([item.get("step", 0) for item in items])
        stamps = pa.array([item["timestamp"] for item in items])
        values = pa.array([item["value"] for item in items])
    except (KeyError, TypeError, AttributeError, pa.ArrowException):
        return _checked_points(items, where)
    plain = (
        keys.type == pa.string()
        and steps.type == stamps.type == pa.int64()
        and values.type in (pa.int64(), pa.float64())
        and not any(a.null_count for a in (keys, steps, stamps, values))
    )
    if not plain or not items:
        return _checked_points(items, where)
    check_names(keys.unique().to_pylist(), "name")
    return pa.table([keys, steps, stamps, values.cast(pa.float64())], schema=BATCH_SCHEMA)


def _checked_points(items: list[Any], where: str) -> pa.Table:
    """Each item read on its own; ``where`` names the list in a batch (``metrics``), so that an
    error names the item as MLflow does (``metrics[0].timestamp``)."""
    keys, values, stamps, steps = [], [], [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"{where}[{index}]" if where else "metric", item, "a metric object")
        prefix = f"{where}[{index}]." if where else ""
        at = {prefix + k: v for k, v in item.items()}  # each field under the name errors give
        keys.append(text(at, prefix + "key"))
        values.append(number(at.get(prefix + "value"), prefix + "value"))
        stamps.append(whole(at, prefix + "timestamp"))
        steps.append(whole(at, prefix + "step", 0))
    check_names(keys, "name")
    return pa.table(
        {"key": keys, "step": steps, "ts": stamps, "value": values}, schema=BATCH_SCHEMA
    )


def _model_metrics(run_id: str, items: list[Any]) -> list[LoggedModelMetric]:
    """The metrics among ``items`` logged with a logged model (``model_id``)."""
    return [
        LoggedModelMetric(
            str(item["model_id"]),
            run_id,
            text(item, "key"),
            number(item.get("value"), "value"),
            whole(item, "step", 0),
            whole(item, "timestamp"),
            optional_text(item, "dataset_name"),
            optional_text(item, "dataset_digest"),
        )
        for item in items
        if isinstance(item, dict) and item.get("model_id")
    ]


@_active_run
async def log_metric(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    points = _points([fields])
    run_id = run_id_of(fields)
    await runs.log_batch(store, principal, run_id, [], [], points)
    if with_model := _model_metrics(run_id, [fields]):
        await logged_models.log_metrics(store, principal, with_model)
    return {}


@_active_run
async def log_param(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.log_params(store, principal, run_id_of(fields), key_value(fields))
    return {}


@_active_run
async def set_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.set_tags(store, principal, run_id_of(fields), key_value(fields, strict=True))
    return {}


@_active_run
async def delete_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.delete_tag(store, principal, run_id_of(fields), text(fields, "key"))
    return {}


@_active_run
async def log_batch(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    metric_items = fields.get("metrics") or []
    if not isinstance(metric_items, list):
        raise invalid("metrics", metric_items, "a list of metrics")
    params, tags = pairs(fields, "params"), pairs(fields, "tags")
    if len(metric_items) > MAX_METRICS_PER_BATCH:
        raise LimitExceeded(
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics.",
            field="metrics",
        )
    if max(len(params), len(tags)) > MAX_PARAMS_TAGS_PER_BATCH:
        raise LimitExceeded(
            f"A batch logging request can contain at most "
            f"{MAX_PARAMS_TAGS_PER_BATCH} params and "
            f"{MAX_PARAMS_TAGS_PER_BATCH} tags."
        )
    if len(metric_items) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
        raise LimitExceeded(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} items in all."
        )
    keys = [key for key, _ in params]
    check_names([*keys, *(key for key, _ in tags)])
    if len(set(keys)) != len(keys):
        raise InvalidInput("The batch names a param twice.", field="params")
    run_id = run_id_of(fields)
    points = _points(metric_items, "metrics")
    await runs.log_batch(store, principal, run_id, params, tags, points)
    if with_model := _model_metrics(run_id, metric_items):
        await logged_models.log_metrics(store, principal, with_model)
    return {}


@_active_run
async def log_inputs(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    run_id = run_id_of(fields)
    items = fields.get("datasets") or []
    if not isinstance(items, list):
        raise InvalidInput("'datasets' must be a list.", field="datasets")
    found = []
    for item in items:
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict):
            raise InvalidInput("Each input needs a 'dataset' object.", field="datasets")
        found.append(
            RunInputRecord(
                run_id,
                text(dataset, "name"),
                text(dataset, "digest"),
                text(dataset, "source_type", ""),
                text(dataset, "source", ""),
                text(dataset, "schema", ""),
                text(dataset, "profile", ""),
                dict(pairs(item, "tags")),
                now(),
            )
        )
    if found:
        await runs.log_inputs(store, principal, run_id, found)
    models = fields.get("models") or []
    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("model_id"), str) for m in models
    ):
        raise InvalidInput("Each model input needs a 'model_id'.", field="models")
    if models:
        await logged_models.record_inputs(store, principal, run_id, [m["model_id"] for m in models])
    return {}


@_active_run
async def log_outputs(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    items = fields.get("models") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput("'models' must be a list of {model_id, step}.", field="models")
    outputs = [(text(item, "model_id"), whole(item, "step", 0)) for item in items]
    await logged_models.record_outputs(store, principal, run_id_of(fields), outputs)
    return {}
