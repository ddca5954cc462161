"""MLflow's tracking calls (``/api/2.0/mlflow/experiments|runs|metrics/...``) over Salon's runs.

Each handler reads MLflow's fields, calls the same services the GraphQL API calls, and answers
in MLflow's shapes; see ``hub.services.tracking.mlflow_names`` for where experiments live.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.tracking import (
    RunEnvironment,
    RunRecord,
)
from hub.errors import AlreadyExists, InvalidInput, NotFound
from hub.http.mlflow import shapes
from hub.http.mlflow.filters import View, run_filter, run_order, view_filter, view_order
from hub.http.mlflow.protocol import (
    MAX_RESULTS,
    BadRequest,
    Fields,
    check_names,
    key_value,
    listed,
    moment,
    offset_of,
    optional_text,
    page_size,
    pairs,
    parts,
    run_id_of,
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
MAX_HISTORY_PAGE = 1_000_000


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
    """An experiment; an ``artifact_location`` is checked but not used: the hub keeps every
    run's files itself (``mlflow-artifacts:/``), so that clients never write around it."""
    store, settings, principal = parts(request)
    name = text(fields, "name")
    optional_text(fields, "artifact_location")
    tags = _tags(fields)
    _, experiment = await mlflow_names.create_experiment(store, settings, principal, name)
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
    await projects.set_experiment_tags(store, principal, experiment, key_value(fields))
    return {}


async def delete_experiment_tag(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    _, experiment = await _experiment(request, fields, "experiment.delete_tag")
    await projects.delete_experiment_tag(store, principal, experiment, text(fields, "key"))
    return {}


async def search_experiments(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    which = _view(fields, "view_type")
    limit = page_size(fields, 1000, MAX_RESULTS)
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
    run_id = run_id_of(fields)
    try:
        run = await runs.get_run(store, principal, run_id)
    except NotFound:
        run = await trash.trashed_run(store, principal, run_id)
        return {"run": await _run_fields(store, principal, run, deleted=True)}
    return {"run": await _run_fields(store, principal, run)}


async def delete_run(request: Request, fields: Fields) -> Fields:
    """Moves the run to Salon's trash (restorable until purged)."""
    store, _, principal = parts(request)
    await trash.move_to_trash(store, principal, "run", run_id_of(fields))
    return {}


async def restore_run(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    await trash.restore_object(store, principal, "run", run_id_of(fields))
    return {}


async def update_run(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    run_id = run_id_of(fields)
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
    limit = page_size(fields, 1000, MAX_RESULTS)
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
    limit = page_size(fields, MAX_HISTORY_PAGE, MAX_HISTORY_PAGE)
    offset = offset_of(fields)
    try:
        found, more = await metrics.points_json(
            store, principal, run_id_of(fields), key, limit, offset
        )
    except NotFound:  # MLflow's history of a run it does not know is empty
        return Response('{"metrics":[]}', media_type="application/json")
    tail = f',"next_page_token":"{offset + limit}"' if more else ""
    return Response(f'{{"metrics":{found}{tail}}}', media_type="application/json")
