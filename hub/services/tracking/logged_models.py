"""MLflow 3 logged models: the files a run wrote as a model, before any registration."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence

from hub.clock import now
from hub.domain.tracking import (
    LOGGED_MODEL_STATUSES,
    ExperimentRecord,
    LoggedModelMetric,
    LoggedModelRecord,
    RunInputRecord,
    RunModelInput,
    RunOutput,
    RunRecord,
)
from hub.errors import InvalidInput, NotFound
from hub.services.policy import audit, permissions
from hub.services.policy.limits import MAX_PARAM_VALUE, MAX_TAG_VALUE, check_name, check_pairs
from hub.services.policy.permissions import READ, WRITE
from hub.services.policy.principal import Principal
from hub.services.tracking import runs
from hub.store import Store

MAX_PAIRS = 1000


async def create(
    store: Store,
    principal: Principal,
    experiment: ExperimentRecord,
    run_id: str | None,
    name: str | None,
    model_type: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
) -> LoggedModelRecord:
    """A pending logged model in the experiment (editors), written by ``run_id`` if given;
    one without a name is named after its id, so that unnamed models tell apart."""
    await permissions.require(
        store,
        principal,
        experiment.project_id,
        WRITE,
        action="logged_model.create",
        object_kind="logged_model",
    )
    if run_id is not None:
        run = await runs.writable_run(store, principal, run_id, "logged_model.create")
        if run.experiment_id != experiment.id:
            raise InvalidInput("The run belongs to another experiment.", field="source_run_id")
    at = now()
    model_id = f"m-{uuid.uuid4().hex}"
    model = LoggedModelRecord(
        id=model_id,
        project_id=experiment.project_id,
        experiment_id=experiment.id,
        run_id=run_id,
        name=check_name(name, "model") if name else f"model-{model_id[-8:]}",
        model_type=model_type[:200],
        status="LOGGED_MODEL_PENDING",
        status_message="",
        params=dict(_pairs(params, "param", MAX_PARAM_VALUE)),
        tags=dict(_pairs(tags, "tag", MAX_TAG_VALUE)),
        created_by=principal.user_name,
        created_at=at,
        updated_at=at,
    )
    events = [
        audit.event(principal, "logged_model.create", "logged_model", model.id, model.project_id)
    ]
    return await store.logged_models.create(model, audit=events)


def _pairs(pairs: Mapping[str, str], what: str, limit: int) -> list[tuple[str, str]]:
    return check_pairs(pairs.items(), what, limit, MAX_PAIRS)


async def _find(
    store: Store, principal: Principal, model_id: str, needed: str, action: str
) -> LoggedModelRecord:
    model = (await store.logged_models.by_ids([model_id])).get(model_id)
    if model is None:
        await audit.deny(store, principal, action, "logged_model", model_id)
        raise NotFound(f"No logged model with id {model_id!r}.", field="model_id")
    await permissions.require(
        store,
        principal,
        model.project_id,
        needed,
        action=action,
        object_kind="logged_model",
        object_id=model.id,
        what=f"logged model {model_id!r}",
    )
    return model


async def get(store: Store, principal: Principal, model_id: str) -> LoggedModelRecord:
    model = await _find(store, principal, model_id, READ, "logged_model.read")
    await audit.read(
        store, principal, "logged_model.read", "logged_model", model.id, model.project_id, 1
    )
    return model


async def writable(store: Store, principal: Principal, model_id: str) -> LoggedModelRecord:
    return await _find(store, principal, model_id, WRITE, "logged_model.update")


async def finalize(
    store: Store, principal: Principal, model_id: str, status: str
) -> LoggedModelRecord:
    """Mark the upload of the model's files done (or failed)."""
    if status not in LOGGED_MODEL_STATUSES:
        raise InvalidInput(
            f"Status must be one of {', '.join(LOGGED_MODEL_STATUSES)}.", field="status"
        )
    model = await writable(store, principal, model_id)
    return await _update(store, principal, dataclasses.replace(model, status=status))


async def merge(
    store: Store,
    principal: Principal,
    model_id: str,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    drop_tag: str | None = None,
) -> LoggedModelRecord:
    """Add params or set tags (or remove one tag) on a logged model."""
    model = await writable(store, principal, model_id)
    if params:
        merged = {**model.params, **dict(_pairs(params, "param", MAX_PARAM_VALUE))}
        model = dataclasses.replace(model, params=merged)
    if tags or drop_tag:
        current = {**model.tags, **dict(_pairs(tags or {}, "tag", MAX_TAG_VALUE))}
        current.pop(drop_tag or "", None)
        model = dataclasses.replace(model, tags=current)
    return await _update(store, principal, model)


async def _update(
    store: Store, principal: Principal, model: LoggedModelRecord
) -> LoggedModelRecord:
    """Store the changed model, its update time now."""
    events = [
        audit.event(principal, "logged_model.update", "logged_model", model.id, model.project_id)
    ]
    changed = dataclasses.replace(model, updated_at=now())
    return await audit.change(store, events, store.logged_models.replace(changed, audit=events))


async def search(
    store: Store,
    principal: Principal,
    experiments: Sequence[ExperimentRecord],
    name: str | None,
    limit: int,
    offset: int,
) -> list[LoggedModelRecord]:
    """Logged models of experiments the caller has been shown, newest first."""
    found = await store.logged_models.in_experiments(
        [e.id for e in experiments], name, limit, offset
    )
    only = experiments[0].project_id if len({e.project_id for e in experiments}) == 1 else None
    await audit.read(store, principal, "logged_models.search", "project", only, only, len(found))
    return found


async def _run_and_models(
    store: Store, principal: Principal, run_id: str, model_ids: Sequence[str], action: str
) -> RunRecord:
    """The run (editors) when every model is in its project; NotFound otherwise."""
    run = await runs.writable_run(store, principal, run_id, action)
    known = await store.logged_models.by_ids(list(model_ids))
    for model_id in model_ids:
        if model_id not in known or known[model_id].project_id != run.project_id:
            raise NotFound(f"No logged model with id {model_id!r}.", field="model_id")
    return run


async def record_outputs(
    store: Store, principal: Principal, run_id: str, outputs: Sequence[tuple[str, int]]
) -> None:
    """The logged models the run wrote (each at a step)."""
    run = await _run_and_models(
        store, principal, run_id, [model_id for model_id, _ in outputs], "run.log_outputs"
    )
    events = [
        audit.event(principal, "run.log_outputs", "run", run.id, run.project_id, rows=len(outputs))
    ]
    await store.logged_models.add_outputs(
        [RunOutput(run.id, model_id, step) for model_id, step in outputs], audit=events
    )


async def record_inputs(
    store: Store, principal: Principal, run_id: str, model_ids: Sequence[str]
) -> None:
    """The logged models the run read."""
    run = await _run_and_models(store, principal, run_id, model_ids, "run.log_inputs")
    events = [
        audit.event(principal, "run.log_inputs", "run", run.id, run.project_id, rows=len(model_ids))
    ]
    await store.logged_models.add_inputs(
        [RunModelInput(run.id, model_id) for model_id in dict.fromkeys(model_ids)], audit=events
    )


async def inputs_and_outputs(
    store: Store, run_ids: list[str]
) -> tuple[list[RunInputRecord], list[RunModelInput], list[RunOutput]]:
    """The dataset inputs, logged-model inputs and outputs of runs the caller was shown."""
    return (
        await store.runs.inputs_for(run_ids),
        await store.logged_models.inputs(run_ids),
        await store.logged_models.outputs(run_ids),
    )


async def log_metrics(
    store: Store, principal: Principal, metrics: Sequence[LoggedModelMetric]
) -> None:
    """Record metrics logged with logged models (editors of each model's project)."""
    for model_id in sorted({m.model_id for m in metrics}):
        await writable(store, principal, model_id)
    models = await store.logged_models.by_ids(sorted({m.model_id for m in metrics}))
    events = [
        audit.event(
            principal,
            "logged_model.log_metrics",
            "logged_model",
            model.id,
            model.project_id,
            rows=sum(1 for m in metrics if m.model_id == model.id),
        )
        for model in models.values()
    ]
    await store.logged_models.add_metrics(metrics, audit=events)


async def metrics_of(
    store: Store, models: Sequence[LoggedModelRecord]
) -> dict[str, list[LoggedModelMetric]]:
    """The metrics of logged models the caller has been shown, by model."""
    found: dict[str, list[LoggedModelMetric]] = {}
    for metric in await store.logged_models.metrics([m.id for m in models]):
        found.setdefault(metric.model_id, []).append(metric)
    return found
