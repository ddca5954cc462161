"""MLflow's REST API on the hub, so that unchanged MLflow client code logs to Salon.

Point ``MLFLOW_TRACKING_URI`` at the hub and ``MLFLOW_TRACKING_TOKEN`` at a Salon API token.
Every call is also served under ``/ajax-api/``, where MLflow's web UI and some tools call it;
MLflow 3's own API version (traces) answers ``ENDPOINT_NOT_FOUND``, as calls Salon does not
serve do.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.http.mlflow import (
    artifacts,
    logged_models,
    registry,
    run_logging,
    tracking,
    ui_calls,
)
from hub.http.mlflow.protocol import Fields, Handler, NotSupported, endpoint

_ROOTS = ("/api", "/ajax-api")
PREFIXES = tuple(
    f"{root}/{version}/{part}/"
    for root in _ROOTS
    for version in ("2.0", "3.0")
    for part in ("mlflow", "mlflow-artifacts")
)


async def _unsupported(request: Request, fields: Fields) -> Response:
    raise NotSupported(
        f"Salon does not serve {request.method} {request.url.path}; see the README's MLflow "
        "section for the calls it serves."
    )


# Calls that only read, though MLflow's client sends them with POST.
_READ_BY_POST = frozenset(
    {
        "experiments/search",
        "experiments/search-datasets",
        "runs/search",
        "logged-models/search",
        "registered-models/get-latest-versions",
    }
)


def _route(
    path: str, handler: Handler, *methods: str, raw: bool = False, change: bool = False
) -> Route:
    return Route(path, endpoint(handler, raw=raw, change=change), methods=list(methods))


def _changes(path: str, methods: tuple[str, ...]) -> bool:
    """Whether a call of the table changes something, and so goes first (``hub.priority``)."""
    return "GET" not in methods and path not in _READ_BY_POST


def routes() -> list[BaseRoute]:
    get, post, patch, delete, put = "GET", "POST", "PATCH", "DELETE", "PUT"
    table: list[tuple[str, Handler, tuple[str, ...]]] = [
        ("experiments/get-by-name", tracking.get_experiment_by_name, (get,)),
        ("experiments/get", tracking.get_experiment, (get,)),
        ("experiments/create", tracking.create_experiment, (post,)),
        ("experiments/delete", tracking.delete_experiment, (post,)),
        ("experiments/restore", tracking.restore_experiment, (post,)),
        ("experiments/update", tracking.update_experiment, (post,)),
        ("experiments/set-experiment-tag", tracking.set_experiment_tag, (post,)),
        ("experiments/delete-experiment-tag", tracking.delete_experiment_tag, (post,)),
        (
            "experiments/search",
            tracking.search_experiments,
            (
                post,
                get,
            ),
        ),
        ("runs/create", tracking.create_run, (post,)),
        ("runs/get", tracking.get_run, (get,)),
        ("runs/update", tracking.update_run, (post,)),
        ("runs/delete", tracking.delete_run, (post,)),
        ("runs/restore", tracking.restore_run, (post,)),
        ("runs/log-metric", run_logging.log_metric, (post,)),
        ("runs/log-parameter", run_logging.log_param, (post,)),
        ("runs/set-tag", run_logging.set_tag, (post,)),
        ("runs/delete-tag", run_logging.delete_tag, (post,)),
        ("runs/log-batch", run_logging.log_batch, (post,)),
        ("runs/log-inputs", run_logging.log_inputs, (post,)),
        ("runs/outputs", run_logging.log_outputs, (post,)),
        ("runs/search", tracking.search_runs, (post,)),
        ("metrics/get-history", tracking.get_metric_history, (get,)),
        ("metrics/get-history-bulk", ui_calls.metric_history_bulk, (get,)),
        ("experiments/search-datasets", ui_calls.search_datasets, (post,)),
        ("logged-models", logged_models.create, (post,)),
        ("logged-models/search", logged_models.search, (post,)),
        ("logged-models/{model_id}", logged_models.get, (get,)),
        ("logged-models/{model_id}", logged_models.finalize, (patch,)),
        ("logged-models/{model_id}", logged_models.delete, (delete,)),
        ("logged-models/{model_id}/tags", logged_models.set_tags, (patch,)),
        ("logged-models/{model_id}/tags/{key:path}", logged_models.delete_tag, (delete,)),
        ("logged-models/{model_id}/params", logged_models.log_params, (post,)),
        ("registered-models/create", registry.create_model, (post,)),
        ("registered-models/get", registry.get_model, (get,)),
        ("registered-models/update", registry.update_model, (patch,)),
        ("registered-models/rename", registry.rename_model, (post,)),
        ("registered-models/search", registry.search_models, (get,)),
        ("registered-models/set-tag", registry.set_model_tag, (post,)),
        ("registered-models/delete-tag", registry.delete_model_tag, (delete,)),
        ("registered-models/delete", registry.delete_model, (delete,)),
        ("model-versions/delete", registry.delete_version, (delete,)),
        ("registered-models/alias", registry.set_alias, (post,)),
        ("registered-models/alias", registry.version_by_alias, (get,)),
        ("registered-models/alias", registry.delete_alias, (delete,)),
        (
            "registered-models/get-latest-versions",
            registry.latest_versions,
            (
                post,
                get,
            ),
        ),
        ("model-versions/create", registry.create_version, (post,)),
        ("model-versions/get", registry.get_version, (get,)),
        ("model-versions/update", registry.update_version, (patch,)),
        ("model-versions/search", registry.search_versions, (get,)),
        ("model-versions/set-tag", registry.set_version_tag, (post,)),
        ("model-versions/delete-tag", registry.delete_version_tag, (delete,)),
        ("model-versions/get-download-uri", registry.download_uri, (get,)),
        ("model-versions/transition-stage", registry.transition_stage, (post,)),
    ]
    found: list[BaseRoute] = []
    every = (get, post, patch, delete, put)
    for root in _ROOTS:
        api, files = f"{root}/2.0/mlflow", f"{root}/2.0/mlflow-artifacts/artifacts"
        found += [
            *(
                _route(f"{api}/{path}", handler, *methods, change=_changes(path, methods))
                for path, handler, methods in table
            ),
            _route(files, artifacts.listing, get),
            _route(files + "/{path:path}", artifacts.upload, put, raw=True),
            _route(files + "/{path:path}", artifacts.download, get, raw=True),
            _route(files + "/{path:path}", artifacts.delete, delete),
            _route(api + "/{rest:path}", _unsupported, *every, raw=True),
            _route(f"{root}/3.0/mlflow/{{rest:path}}", _unsupported, *every, raw=True),
        ]
    return found
