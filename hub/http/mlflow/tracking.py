"""MLflow's tracking calls (``/api/2.0/mlflow/experiments|runs|metrics/...``) over Salon's runs.

Each handler reads MLflow's fields, calls the same services the GraphQL API calls, and answers
in MLflow's shapes; see ``hub.services.tracking.mlflow_names`` for where experiments live.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import Response

from hub.clock import now
from hub.domain.tracking import (
    BATCH_SCHEMA,
    LoggedModelMetric,
    RunEnvironment,
    RunInputRecord,
    RunRecord,
)
from hub.errors import AlreadyExists, InvalidInput, LimitExceeded, NotFound
from hub.http.mlflow import shapes
from hub.http.mlflow.filters import View, run_filter, run_order, view_filter, view_order
from hub.http.mlflow.protocol import (
    MAX_RESULTS,
    BadRequest,
    Fields,
    check_names,
    listed,
    moment,
    number,
    offset_of,
    optional_text,
    pairs,
    parts,
    text,
    whole,
)
from hub.services.lifecycle import trash
from hub.services.policy.principal import Principal
from hub.services.tracking import logged_models, metrics, mlflow_names, projects, runs
from hub.services.tracking.runs import NewRun
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

# MLflow's own limits on one log-batch call (``mlflow/utils/validation.py``).
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_HISTORY_PAGE = 1_000_000


def _run_id(fields: Fields) -> str:
    value = fields.get("run_id") or fields.get("run_uuid")
    if not isinstance(value, str) or not value:
        raise InvalidInput("Missing value for required parameter 'run_id'.", field="run_id")
    return value


# Experiments ---------------------------------------------------------------------------------


async def _experiment_fields(
    store: Store,
    settings: Settings,
    principal: Principal,
    found: tuple[Any, Any],
    deleted: bool = False,
) -> Fields:
    project, experiment = found
    home = await mlflow_names.home_project(store, settings, principal)
    tags = await projects.experiment_tags(store, [experiment])
    return shapes.experiment(
        project,
        experiment,
        mlflow_names.joined(project, experiment.name, home),
        tags.get(experiment.id, []),
        deleted,
    )


_VIEWS = {
    "ACTIVE_ONLY": "live",
    "DELETED_ONLY": "trashed",
    "ALL": "all",
    "1": "live",  # the numbers MLflow's GET calls send
    "2": "trashed",
    "3": "all",
}


def _view(fields: Fields, name: str) -> str:
    """MLflow's view type (ACTIVE_ONLY, DELETED_ONLY, ALL) as Salon's: the trash is deleted."""
    value = str(fields.get(name) or "ACTIVE_ONLY").upper()
    if value not in _VIEWS:
        raise InvalidInput(f"{name} is one of ACTIVE_ONLY, DELETED_ONLY and ALL.", field=name)
    return _VIEWS[value]


async def _experiment(request: Request, fields: Fields, action: str) -> tuple[Any, Any]:
    store, settings, principal = parts(request)
    (found,) = await mlflow_names.experiments(
        store, settings, principal, [text(fields, "experiment_id")], action
    )
    return found


async def get_experiment_by_name(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    found = await mlflow_names.experiment_named(
        store, settings, principal, text(fields, "experiment_name")
    )
    return {"experiment": await _experiment_fields(store, settings, principal, found)}


async def get_experiment(request: Request, fields: Fields) -> Fields:
    """A deleted (trashed) experiment is shown with lifecycle_stage deleted, as in MLflow."""
    store, settings, principal = parts(request)
    try:
        found = await _experiment(request, fields, "experiment.read")
        deleted = False
    except NotFound:
        (found,) = await mlflow_names.experiments(
            store,
            settings,
            principal,
            [text(fields, "experiment_id")],
            "experiment.read",
            view="trashed",
        )
        deleted = True
    return {"experiment": await _experiment_fields(store, settings, principal, found, deleted)}


def _tags(fields: Fields) -> dict[str, str]:
    found = dict(pairs(fields, "tags"))
    check_names(found)
    return found


async def create_experiment(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    tags = _tags(fields)
    _, experiment = await mlflow_names.create_experiment(
        store, settings, principal, text(fields, "name")
    )
    if tags:
        await projects.set_experiment_tags(store, principal, experiment, tags)
    return {"experiment_id": experiment.id}


async def update_experiment(request: Request, fields: Fields) -> Fields:
    """Renames the experiment within its project (MLflow's only update)."""
    store, settings, principal = parts(request)
    project, experiment = await _experiment(request, fields, "experiment.rename")
    wanted = mlflow_names.split(
        text(fields, "new_name"), await mlflow_names.home_project(store, settings, principal)
    )
    if wanted.project != project.name:
        raise InvalidInput(
            f"An experiment stays in its project ({project.name}); name it "
            f"{project.name}/{wanted.name}, or leave the project out.",
            field="new_name",
        )
    try:
        await projects.rename_experiment(store, principal, experiment, wanted.name)
    except AlreadyExists as exc:  # MLflow's server answers this one BAD_REQUEST
        raise BadRequest(exc.message, field="new_name") from None
    return {}


async def set_experiment_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    _, experiment = await _experiment(request, fields, "experiment.set_tags")
    await projects.set_experiment_tags(store, principal, experiment, _pair(fields))
    return {}


async def delete_experiment_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    _, experiment = await _experiment(request, fields, "experiment.delete_tag")
    await projects.delete_experiment_tag(store, principal, experiment, text(fields, "key"))
    return {}


async def search_experiments(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    which = _view(fields, "view_type")
    limit = whole(fields, "max_results", 1000)
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}.")
    attributes = ("name", "creation_time", "last_update_time", "experiment_id")
    test = view_filter(optional_text(fields, "filter"), attributes[:3])
    offset = offset_of(fields)
    every = await mlflow_names.every_experiment(store, principal, which)
    trashed = (
        set()
        if which == "live"
        else await trash.in_trash(store, "experiment", [e.id for _, e in every])
    )
    home = await mlflow_names.home_project(store, settings, principal)
    tags = await projects.experiment_tags(store, [e for _, e in every])
    shown = {}
    for project, experiment in every:
        answer = shapes.experiment(
            project,
            experiment,
            mlflow_names.joined(project, experiment.name, home),
            tags.get(experiment.id, []),
            experiment.id in trashed,
        )
        view = View(
            {
                key: answer[key]
                for key in ("experiment_id", "name", "creation_time", "last_update_time")
            },
            {t["key"]: t["value"] for t in answer["tags"]},
        )
        if test(view):
            shown[experiment.id] = (view, answer)
    ordered = view_order(
        listed(fields, "order_by"),
        ["creation_time DESC", "experiment_id ASC"],
        ["experiment_id DESC"],
        [v for v, _ in shown.values()],
        attributes,
    )
    page = ordered[offset : offset + limit]
    found: Fields = {"experiments": [shown[str(view.values["experiment_id"])][1] for view in page]}
    if offset + limit < len(ordered):
        found["next_page_token"] = str(offset + limit)
    return found


async def delete_experiment(request: Request, fields: Fields) -> Fields:
    """Moves the experiment and its runs to Salon's trash (restorable until purged)."""
    store, settings, principal = parts(request)
    ((_, experiment),) = await mlflow_names.experiments(
        store, settings, principal, [text(fields, "experiment_id")], "trash.put"
    )
    await trash.move_to_trash(store, principal, "experiment", experiment.id)
    return {}


async def restore_experiment(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await trash.restore_object(store, principal, "experiment", text(fields, "experiment_id"))
    return {}


# Runs ----------------------------------------------------------------------------------------


async def _run_fields(
    store: Store, principal: Principal, run: RunRecord, deleted: bool = False
) -> Fields:
    details = await runs.details(store, principal, [run])
    inputs, model_inputs, outputs = await logged_models.inputs_and_outputs(store, [run.id])
    return shapes.run(run, details, inputs, outputs, model_inputs, deleted)


async def create_run(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    experiment_id = text(fields, "experiment_id", mlflow_names.DEFAULT_EXPERIMENT_ID)
    ((project, experiment),) = await mlflow_names.experiments(
        store, settings, principal, [experiment_id], "run.create"
    )
    tags = dict(pairs(fields, "tags"))
    name = optional_text(fields, "run_name") or tags.get("mlflow.runName")
    name = name or f"run-{secrets.token_hex(3)}"
    tags["mlflow.runName"] = name
    started = fields.get("start_time")
    new = NewRun(
        project=project.name,
        experiment=experiment.name,
        name=name,
        tags=tags,
        environment=RunEnvironment(
            git_commit=tags.get("mlflow.source.git.commit"),
            command=tags.get("mlflow.source.name"),
        ),
        started_at=None if started is None else moment(whole(fields, "start_time")),
        notes=tags.get("mlflow.note.content", ""),
    )
    run = await runs.create_run(store, principal, new)
    return {"run": await _run_fields(store, principal, run)}


async def get_run(request: Request, fields: Fields) -> Fields:
    """A run; one in Salon's trash answers with ``lifecycle_stage: deleted``, as MLflow shows
    a deleted run."""
    store, _, principal = parts(request)
    run_id = _run_id(fields)
    try:
        run = await runs.get_run(store, principal, run_id)
    except NotFound:
        run = await trash.trashed_run(store, principal, run_id)
        return {"run": await _run_fields(store, principal, run, deleted=True)}
    return {"run": await _run_fields(store, principal, run)}


async def delete_run(request: Request, fields: Fields) -> Fields:
    """Moves the run to Salon's trash (restorable until purged)."""
    store, _, principal = parts(request)
    await trash.move_to_trash(store, principal, "run", _run_id(fields))
    return {}


async def restore_run(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await trash.restore_object(store, principal, "run", _run_id(fields))
    return {}


async def update_run(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    run_id = _run_id(fields)
    status = (optional_text(fields, "status") or "").lower()
    name = optional_text(fields, "run_name")
    if status in runs.FINAL_STATUSES:
        ended = fields.get("end_time")
        at = None if ended is None else moment(whole(fields, "end_time"))
        run = await runs.finish_run(store, principal, run_id, status, at, may_change=True)
    elif status == "running":
        run = await runs.resume_run(store, principal, run_id)
    elif status == "":
        run = await runs.writable_run(store, principal, run_id, "run.update")
    else:
        raise InvalidInput(
            f"Salon has no run status {status.upper()}; use RUNNING, FINISHED, FAILED or KILLED.",
            field="status",
        )
    if name is not None and name != run.name:
        run = await runs.rename_run(store, principal, run_id, name)
    return {"run_info": shapes.run_info(run)}


def _points(items: list[Any]) -> pa.Table:
    """MLflow metrics as a batch of points: one pass in Arrow when every field has its plain
    type (whole steps and times, numeric values), one item at a time otherwise, to say which
    item is wrong or to read "NaN" and "Infinity"."""
    try:
        keys = pa.array([item["key"] for item in items], pa.string())
        steps = pa.array([item.get("step", 0) for item in items])
        stamps = pa.array([item["timestamp"] for item in items])
        values = pa.array([item["value"] for item in items])
    except (KeyError, TypeError, AttributeError, pa.ArrowException):
        return _checked_points(items)
    plain = (
        keys.type == pa.string()
        and steps.type == stamps.type == pa.int64()
        and values.type in (pa.int64(), pa.float64())
        and not any(a.null_count for a in (keys, steps, stamps, values))
    )
    if not plain or not items:
        return _checked_points(items)
    check_names(keys.unique().to_pylist(), "name")
    return pa.table([keys, steps, stamps, values.cast(pa.float64())], schema=BATCH_SCHEMA)


def _checked_points(items: list[Any]) -> pa.Table:
    keys, values, stamps, steps = [], [], [], []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidInput("Each metric must be an object with key, value and timestamp.")
        keys.append(text(item, "key"))
        values.append(number(item.get("value"), "value"))
        stamps.append(whole(item, "timestamp"))
        steps.append(whole(item, "step", 0))
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


async def log_metric(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    points = _points([fields])
    run_id = _run_id(fields)
    await runs.log_batch(store, principal, run_id, [], [], points)
    if with_model := _model_metrics(run_id, [fields]):
        await logged_models.log_metrics(store, principal, with_model)
    return {}


def _pair(fields: Fields) -> dict[str, str]:
    """A single param or tag: its key, and its value as text (MLflow sends numbers too)."""
    value = fields.get("value")
    key = text(fields, "key")
    check_names([key])
    return {key: value if isinstance(value, str) else "" if value is None else str(value)}


async def log_param(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.log_params(store, principal, _run_id(fields), _pair(fields))
    return {}


async def set_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.set_tags(store, principal, _run_id(fields), _pair(fields))
    return {}


async def delete_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await runs.delete_tag(store, principal, _run_id(fields), text(fields, "key"))
    return {}


async def log_batch(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    metric_items = fields.get("metrics") or []
    if not isinstance(metric_items, list):
        raise InvalidInput("'metrics' must be a list.", field="metrics")
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
    run_id = _run_id(fields)
    await runs.log_batch(store, principal, run_id, params, tags, _points(metric_items))
    if with_model := _model_metrics(run_id, metric_items):
        await logged_models.log_metrics(store, principal, with_model)
    return {}


async def log_inputs(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    run_id = _run_id(fields)
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


async def log_outputs(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    items = fields.get("models") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput("'models' must be a list of {model_id, step}.", field="models")
    outputs = [(text(item, "model_id"), whole(item, "step", 0)) for item in items]
    await logged_models.record_outputs(store, principal, _run_id(fields), outputs)
    return {}


async def search_runs(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    view = _view(fields, "run_view_type")
    experiment_ids = listed(fields, "experiment_ids")
    if not experiment_ids:
        raise InvalidInput("Name at least one experiment id.", field="experiment_ids")
    found = await mlflow_names.experiments(
        store,
        settings,
        principal,
        experiment_ids,
        "runs.search",
        missing_ok=True,
        view="live" if view == "live" else "all",
    )
    if not found:  # MLflow finds nothing in experiments it does not know, and says no more
        return {"runs": []}
    ids = [experiment.id for _, experiment in found]
    limit = whole(fields, "max_results", 1000)
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}.")
    filter_text = optional_text(fields, "filter")
    order = listed(fields, "order_by")
    project_ids = sorted({project.id for project, _ in found})
    page = await runs.search_parsed(
        store,
        principal,
        project_ids,
        run_filter(filter_text, ids),
        run_order(order),
        limit,
        optional_text(fields, "page_token"),
        repr(("mlflow", ids, filter_text, order, view)),
        project_ids[0] if len(project_ids) == 1 else None,
        count=False,
        view=view,
    )
    details = await runs.details(store, principal, page.runs)
    run_ids = [run.id for run in page.runs]
    inputs, model_inputs, outputs = await logged_models.inputs_and_outputs(store, run_ids)
    deleted = set(run_ids) if view == "trashed" else await trash.in_trash(store, "run", run_ids)
    answer: Fields = {
        "runs": [
            shapes.run(run, details, inputs, outputs, model_inputs, run.id in deleted)
            for run in page.runs
        ]
    }
    if page.next_cursor:
        answer["next_page_token"] = page.next_cursor
    return answer


async def get_metric_history(request: Request, fields: Fields) -> Response:
    store, _, principal = parts(request)
    key = text(fields, "metric_key")
    limit = whole(fields, "max_results", MAX_HISTORY_PAGE)
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise InvalidInput(f"max_results must be between 1 and {MAX_HISTORY_PAGE}.")
    offset = offset_of(fields)
    try:
        found, more = await metrics.points_json(
            store, principal, _run_id(fields), key, limit, offset
        )
    except NotFound:  # MLflow's history of a run it does not know is empty
        return Response('{"metrics":[]}', media_type="application/json")
    tail = f',"next_page_token":"{offset + limit}"' if more else ""
    return Response(f'{{"metrics":{found}{tail}}}', media_type="application/json")
