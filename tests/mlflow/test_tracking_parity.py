"""Tracking calls side by side with a real ``mlflow server``: values of the wrong kind refused
in MLflow's words, writes to a deleted run, the calls MLflow's web UI makes, and experiment
tags read back exactly as set."""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException

from tests.mlflow.sides import Side, same, unique

API = "/api/2.0/mlflow"


def _refusals(side: Side) -> list[Any]:
    """What the server says to values of the wrong kind: status, code, and whether the
    message names the value and the parameter as MLflow does."""
    with side.client() as client:
        experiment = client.create_experiment(unique("kinds"))
        run_id = client.create_run(experiment).info.run_id
    tried = [
        ("experiments/create", {"name": 123}, "Invalid value 123 for parameter 'name'"),
        (
            "experiments/create",
            {"name": unique("x"), "artifact_location": 9.0},
            "Invalid value 9.0 for parameter 'artifact_location'",
        ),
        (
            "runs/log-metric",
            {"run_id": 31, "key": "m", "value": 1, "timestamp": 1, "step": 1},
            "Invalid value 31 for parameter 'run_id' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": "foo"},
            "Invalid value \"foo\" for parameter 'step' supplied",
        ),
        (
            "runs/set-tag",
            {"run_id": run_id, "key": "t", "value": 41},
            "Invalid value 41 for parameter 'value' supplied",
        ),
        (
            "runs/log-batch",
            {"run_id": run_id, "metrics": "foo"},
            "Invalid value \"foo\" for parameter 'metrics' supplied",
        ),
        (
            "runs/log-batch",
            {"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5}]},
            "Missing value for required parameter 'metrics[0].timestamp'",
        ),
        (
            "runs/search",
            {"experiment_ids": [experiment], "max_results": 123456789},
            "Invalid value 123456789 for parameter 'max_results' supplied",
        ),
    ]
    said = []
    for path, body, phrase in tried:
        answer = side.rest("POST", f"{API}/{path}", json=body)
        said.append(
            (
                path,
                answer.status_code,
                answer.json().get("error_code"),
                phrase in answer.json().get("message", ""),
            )
        )
    return said


def test_values_of_the_wrong_kind_are_refused_in_mlflows_words(sides: tuple[Side, Side]) -> None:
    mlflow_side, salon_side = sides
    expected, got = _refusals(mlflow_side), _refusals(salon_side)
    assert got == expected
    assert all(status == 400 and named for _, status, _, named in got), got


def test_writing_to_a_deleted_run_is_refused_as_in_mlflow(sides: tuple[Side, Side]) -> None:
    def write(client: MlflowClient) -> Any:
        run_id = client.create_run(client.create_experiment(unique("deleted"))).info.run_id
        client.delete_run(run_id)
        said = []
        for call in (
            lambda: client.set_tag(run_id, "t", "v"),
            lambda: client.log_metric(run_id, "m", 1.0),
            lambda: client.delete_tag(run_id, "t"),
        ):
            try:
                call()
                said.append("ok")
            except MlflowException as exc:
                said.append((exc.error_code, f"The run {run_id} must be in" in exc.message))
        return said

    assert same(sides, write) == [("INVALID_PARAMETER_VALUE", True)] * 3


def _ui_reads(side: Side) -> Any:
    """The bulk history of two runs' metric (the same points in each, so that which run
    comes first, by id, does not matter), a bulk history without its metric, and the datasets
    an experiment's runs read."""
    with side.client() as client:
        experiment = client.create_experiment(unique("ui"))
        run_ids = [client.create_run(experiment).info.run_id for _ in range(2)]
        for run_id in run_ids:
            for step, stamp, value in ((2, 1, 10.0), (3, 1, 12.0), (3, 1, 11.0), (-1, 5, 0.5)):
                client.log_metric(run_id, "loss", value, timestamp=stamp, step=step)
        client.log_inputs(
            run_ids[0],
            [
                DatasetInput(
                    Dataset("train", "d1", "local", "s"),
                    [InputTag("mlflow.data.context", "training")],
                ),
                DatasetInput(Dataset("holdout", "d2", "local", "s"), []),
            ],
        )
    bulk = side.rest(
        "GET",
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": run_ids[::-1], "metric_key": "loss", "max_results": 6},
    ).json()["metrics"]
    refused = side.rest(
        "GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", params={"run_id": run_ids}
    )
    datasets = side.rest(
        "POST",
        "/ajax-api/2.0/mlflow/experiments/search-datasets",
        json={"experiment_ids": [experiment]},
    ).json()["dataset_summaries"]
    return (
        [(p["key"], p["step"], p["timestamp"], p["value"]) for p in bulk],
        [p["run_id"] for p in bulk] == [min(run_ids)] * 4 + [max(run_ids)] * 2,
        (refused.status_code, "must specify a metric_key" in refused.json()["message"]),
        sorted(
            (d["experiment_id"] == experiment, d["name"], d["digest"], d.get("context", ""))
            for d in datasets
        ),
    )


def test_the_calls_mlflows_web_ui_makes(sides: tuple[Side, Side]) -> None:
    mlflow_side, salon_side = sides
    expected, got = _ui_reads(mlflow_side), _ui_reads(salon_side)
    assert got == expected
    assert got[1:] == (
        True,
        (400, True),
        [(True, "holdout", "d2", ""), (True, "train", "d1", "training")],
    )


def test_experiment_tags_read_back_exactly_as_set(sides: tuple[Side, Side]) -> None:
    def tags(client: MlflowClient) -> Any:
        tagged = client.create_experiment(unique("tagged"), tags={"team": "cv", "k": "v"})
        bare = client.create_experiment(unique("bare"))
        return client.get_experiment(tagged).tags, client.get_experiment(bare).tags

    assert same(sides, tags) == ({"team": "cv", "k": "v"}, {})
