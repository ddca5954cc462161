"""Salon's records in the JSON shapes of MLflow's protos (``service.proto``)."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.mlflow import double
from hub.domain.tracking import (
    ExperimentRecord,
    KeyValue,
    LoggedModelMetric,
    LoggedModelRecord,
    RunInputRecord,
    RunModelInput,
    RunOutput,
    RunRecord,
)
from hub.http.mlflow.protocol import Fields, millis
from hub.services.tracking.runs import RunDetails


def experiment(
    record: ExperimentRecord,
    name: str,
    tags: list[tuple[str, str]] | None = None,
    deleted: bool = False,
) -> Fields:
    """An experiment as MLflow shows it; ``deleted``: it is in Salon's trash. Its tags are the
    ones clients set, no more (MLflow's clients read back exactly what they wrote); the
    project shows in the name (``vision/baseline``) unless it is the caller's MLflow project."""
    return {
        "experiment_id": record.id,
        "name": name,
        "artifact_location": f"mlflow-artifacts:/{record.id}",
        "lifecycle_stage": "deleted" if deleted else "active",
        "creation_time": millis(record.created_at),
        "last_update_time": millis(record.created_at),
        "tags": [{"key": key, "value": value} for key, value in tags or []],
    }


def run_info(run: RunRecord, deleted: bool = False) -> Fields:
    info: Fields = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.user_name,
        "status": run.status.upper(),
        "start_time": millis(run.started_at),
        "artifact_uri": f"mlflow-artifacts:/{run.experiment_id}/{run.id}/artifacts",
        "lifecycle_stage": "deleted" if deleted else "active",
    }
    if run.ended_at is not None:
        info["end_time"] = millis(run.ended_at)
    return info


def _pairs(items: Sequence[KeyValue]) -> list[Fields]:
    return [{"key": item.key, "value": item.value} for item in items]


def run(
    record: RunRecord,
    details: RunDetails,
    inputs: Sequence[RunInputRecord] = (),
    outputs: Sequence[RunOutput] = (),
    model_inputs: Sequence[RunModelInput] = (),
    deleted: bool = False,
) -> Fields:
    """A run as MLflow shows it; ``deleted``: it is in Salon's trash."""
    metrics = [
        {"key": m.key, "value": double(m.last_value), "timestamp": m.last_ts, "step": m.last_step}
        for m in details.metrics.get(record.id, [])
    ]
    return {
        "info": run_info(record, deleted),
        "data": {
            "metrics": metrics,
            "params": _pairs(details.params.get(record.id, [])),
            "tags": _pairs(details.tags.get(record.id, [])),
        },
        "inputs": {
            "dataset_inputs": [dataset_input(i) for i in inputs if i.run_id == record.id],
            "model_inputs": [
                {"model_id": i.model_id} for i in model_inputs if i.run_id == record.id
            ],
        },
        "outputs": {
            "model_outputs": [
                {"model_id": o.model_id, "step": o.step} for o in outputs if o.run_id == record.id
            ]
        },
    }


def dataset_input(item: RunInputRecord) -> Fields:
    return {
        "tags": [{"key": k, "value": v} for k, v in item.tags.items()],
        "dataset": {
            "name": item.name,
            "digest": item.digest,
            "source_type": item.source_type,
            "source": item.source,
            "schema": item.schema,
            "profile": item.profile,
        },
    }


def model_metric(metric: LoggedModelMetric) -> Fields:
    shown: Fields = {
        "key": metric.key,
        "value": double(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
        "model_id": metric.model_id,
    }
    for name in ("run_id", "dataset_name", "dataset_digest"):
        if getattr(metric, name):
            shown[name] = getattr(metric, name)
    return shown


def logged_model(model: LoggedModelRecord, metrics: Sequence[LoggedModelMetric] = ()) -> Fields:
    return {
        "info": {
            "model_id": model.id,
            "experiment_id": model.experiment_id,
            "name": model.name,
            "artifact_uri": f"mlflow-artifacts:/{model.experiment_id}/models/{model.id}/artifacts",
            "creation_timestamp_ms": millis(model.created_at),
            "last_updated_timestamp_ms": millis(model.updated_at),
            "status": model.status,
            "status_message": model.status_message,
            "model_type": model.model_type,
            "source_run_id": model.run_id or "",
            "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
        },
        "data": {
            "params": [{"key": k, "value": v} for k, v in model.params.items()],
            "metrics": [model_metric(m) for m in metrics],
        },
    }
