"""Calls MLflow's web UI makes under ``/ajax-api/`` (and tools that copy it): the histories of
one metric across runs for its charts, and the datasets an experiment's runs read for its
filters. Served under ``/api/`` too, as every call is."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from hub.errors import InvalidInput, NotFound
from hub.http.mlflow.filters import run_filter
from hub.http.mlflow.protocol import MAX_RESULTS, Fields, listed, page_size, parts
from hub.services.tracking import logged_models, metrics, mlflow_names, runs

MAX_BULK_RUNS = 100  # runs one bulk history names, as MLflow allows
BULK_POINTS = 25_000  # points a bulk history answers unless asked for fewer
MAX_DATASET_EXPERIMENTS = 20  # experiments one dataset search names, as MLflow allows
CONTEXT_TAG = "mlflow.data.context"  # training, evaluation… as log_input(context=) sets it


def _wanted(fields: Fields, name: str, call: str, most: int, noun: str) -> list[str]:
    found = [v for v in listed(fields, name) if v]
    if not found:
        raise InvalidInput(f"{call} request must specify at least one {noun}.", field=name)
    if len(found) > most:
        raise InvalidInput(f"{call} request cannot specify more than {most} {noun}s.", field=name)
    return found


async def metric_history_bulk(request: Request, fields: Fields) -> Fields:
    """One metric's points in each of the runs (by run id, then time, step and value), at most
    ``max_results`` in all; runs the caller may not read, or that do not exist, have none."""
    store, _, principal = parts(request)
    run_ids = _wanted(fields, "run_id", "GetMetricHistoryBulk", MAX_BULK_RUNS, "run_id")
    key = fields.get("metric_key")
    if not isinstance(key, str) or not key:
        raise InvalidInput(
            "GetMetricHistoryBulk request must specify a metric_key.", field="metric_key"
        )
    left = page_size(fields, BULK_POINTS, BULK_POINTS)
    found: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        if left == 0:
            break
        try:
            page, _ = await metrics.points_json(store, principal, run_id, key, BULK_POINTS, 0)
        except NotFound:
            continue
        points = sorted(json.loads(page), key=lambda p: (p["timestamp"], p["step"], p["value"]))
        found += [{**point, "run_id": run_id} for point in points[:left]]
        left -= min(left, len(points))
    return {"metrics": found}


async def search_datasets(request: Request, fields: Fields) -> Fields:
    """The datasets the runs of the experiments read, once per name, digest and context."""
    store, settings, principal = parts(request)
    wanted = _wanted(
        fields, "experiment_ids", "SearchDatasets", MAX_DATASET_EXPERIMENTS, "experiment_id"
    )
    found = await mlflow_names.experiments(
        store, settings, principal, wanted, "runs.search", missing_ok=True
    )
    if not found:
        return {"dataset_summaries": []}
    ids = [experiment.id for _, experiment in found]
    project_ids = sorted({project.id for project, _ in found})
    page = await runs.search_parsed(
        store,
        principal,
        project_ids,
        run_filter(None, ids),
        [],
        MAX_RESULTS,
        None,
        repr(("mlflow-datasets", ids)),
        project_ids[0] if len(project_ids) == 1 else None,
        count=False,
    )
    experiment_of = {run.id: run.experiment_id for run in page.runs}
    inputs, _, _ = await logged_models.inputs_and_outputs(store, list(experiment_of))
    summaries: dict[tuple[str, str, str, str], None] = {}
    for used in inputs:
        context = dict(used.tags).get(CONTEXT_TAG, "")
        summaries[(experiment_of[used.run_id], used.name, used.digest, context)] = None
    return {
        "dataset_summaries": [
            {"experiment_id": e, "name": n, "digest": d, "context": c} for e, n, d, c in summaries
        ]
    }
