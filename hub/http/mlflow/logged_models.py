"""MLflow 3's logged models (``/api/2.0/mlflow/logged-models``), which ``log_model`` needs."""

from __future__ import annotations

from starlette.requests import Request

from hub.errors import InvalidInput
from hub.http.mlflow import shapes
from hub.http.mlflow.protocol import (
    MAX_RESULTS,
    Fields,
    listed,
    offset_of,
    optional_text,
    pairs,
    parts,
    text,
    whole,
)
from hub.services.tracking import logged_models, mlflow_names


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
        optional_text(fields, "name") or "model",
        optional_text(fields, "model_type") or "",
        dict(pairs(fields, "params")),
        dict(pairs(fields, "tags")),
    )
    return {"model": shapes.logged_model(model)}


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


async def get(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    model = await logged_models.get(store, principal, _model_id(request))
    return {"model": shapes.logged_model(model)}


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


async def search(request: Request, fields: Fields) -> Fields:
    """Only the filter ``name = '<name>'`` is understood (what loading ``runs:/`` URIs sends)."""
    store, settings, principal = parts(request)
    found = await mlflow_names.experiments(
        store, settings, principal, listed(fields, "experiment_ids"), "logged_models.search"
    )
    name = None
    wanted = (optional_text(fields, "filter") or "").strip()
    if wanted:
        key, _, value = wanted.partition("=")
        value = value.strip()
        if (
            key.strip() != "name"
            or len(value) < 2
            or value[0] != value[-1]
            or value[0] not in "'\""
        ):
            raise InvalidInput(
                "Salon searches logged models by name only: name = '<name>'.", field="filter"
            )
        name = value[1:-1]
    limit = whole(fields, "max_results", 100)
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}.")
    offset = offset_of(fields)
    models = await logged_models.search(
        store, principal, [e for _, e in found], name, limit + 1, offset
    )
    answer: Fields = {"models": [shapes.logged_model(m) for m in models[:limit]]}
    if len(models) > limit:
        answer["next_page_token"] = str(offset + limit)
    return answer
