"""MLflow 3's logged models (``/api/2.0/mlflow/logged-models``), which ``log_model`` needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from hub.domain.tracking import LoggedModelRecord
from hub.errors import InvalidInput
from hub.http.mlflow import shapes
from hub.http.mlflow.filters import View, view_filter, view_order
from hub.http.mlflow.protocol import (
    MAX_RESULTS,
    Fields,
    listed,
    offset_of,
    optional_text,
    page_size,
    pairs,
    parts,
    text,
)
from hub.services.lifecycle import trash
from hub.services.tracking import logged_models, mlflow_names

if TYPE_CHECKING:
    from hub.store import Store


async def create(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    ((_, experiment),) = await mlflow_names.experiments(
        store, settings, principal, [text(fields, "experiment_id")], "logged_model.create"
    )
    model = await logged_models.create(
        store,
        principal,
        experiment,
        optional_text(fields, "source_run_id"),
        optional_text(fields, "name"),
        optional_text(fields, "model_type") or "",
        dict(pairs(fields, "params")),
        dict(pairs(fields, "tags")),
    )
    return {"model": shapes.logged_model(model)}


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


async def _shown(store: Store, model: LoggedModelRecord) -> Fields:
    metrics = await logged_models.metrics_of(store, [model])
    return shapes.logged_model(model, metrics.get(model.id, []))


async def get(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    model = await logged_models.get(store, principal, _model_id(request))
    return {"model": await _shown(store, model)}


async def delete(request: Request, fields: Fields) -> Fields:
    """Moves the logged model (with its files) to Salon's trash, restorable until purged."""
    store, _, principal = parts(request)
    await trash.move_to_trash(store, principal, "logged_model", _model_id(request))
    return {}


async def finalize(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    model = await logged_models.finalize(
        store, principal, _model_id(request), text(fields, "status")
    )
    return {"model": shapes.logged_model(model)}


async def set_tags(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    tags = dict(pairs(fields, "tags"))
    model = await logged_models.merge(store, principal, _model_id(request), tags=tags)
    return {"model": shapes.logged_model(model)}


async def delete_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    key = str(request.path_params["key"])
    await logged_models.merge(store, principal, _model_id(request), drop_tag=key)
    return {}


async def log_params(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    params = dict(pairs(fields, "params"))
    await logged_models.merge(store, principal, _model_id(request), params=params)
    return {}


_ATTRIBUTES = (
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "last_updated_timestamp",
)
SEARCHED = 100_000  # logged models one search goes through


async def search(request: Request, fields: Fields) -> Fields:
    """MLflow's filter over the models' attributes, tags, params and metrics (their latest
    value by key), newest first unless ``order_by`` says otherwise."""
    store, settings, principal = parts(request)
    found = await mlflow_names.experiments(
        store, settings, principal, listed(fields, "experiment_ids"), "logged_models.search"
    )
    test = view_filter(optional_text(fields, "filter"), _ATTRIBUTES)
    limit = page_size(fields, 100, MAX_RESULTS)
    offset = offset_of(fields)
    every = await logged_models.search(store, principal, [e for _, e in found], None, SEARCHED, 0)
    metrics = await logged_models.metrics_of(store, every)
    shown: dict[int, Fields] = {}
    views = []
    for model in every:
        answer = shapes.logged_model(model, metrics.get(model.id, []))
        info = answer["info"]
        view = View(
            {
                "name": model.name,
                "model_id": model.id,
                "model_type": model.model_type,
                "status": model.status,
                "source_run_id": model.run_id or "",
                "creation_timestamp": info["creation_timestamp_ms"],
                "last_updated_timestamp": info["last_updated_timestamp_ms"],
            },
            dict(model.tags),
            dict(model.params),
            {m.key: m.value for m in metrics.get(model.id, [])},  # by step: the latest stays
        )
        if test(view):
            shown[id(view)] = answer
            views.append(view)
    order = [_order_item(item) for item in fields.get("order_by") or []]
    ordered = view_order(
        order,
        ["creation_timestamp DESC"],
        ["model_id ASC"],
        views,
        _ATTRIBUTES,
    )
    result: Fields = {"models": [shown[id(view)] for view in ordered[offset : offset + limit]]}
    if offset + limit < len(ordered):
        result["next_page_token"] = str(offset + limit)
    return result


def _order_item(item: Any) -> str:
    """MLflow sends order_by as objects (``{"field_name": ..., "ascending": ...}``)."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("field_name"), str):
        return f"{item['field_name']} {'ASC' if item.get('ascending', True) else 'DESC'}"
    raise InvalidInput("Each order_by names a field_name.", field="order_by")
