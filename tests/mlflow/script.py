"""A training script's MLflow calls, then everything read back, as JSON.

Run as ``python -m tests.mlflow.script <out.json>`` with ``MLFLOW_TRACKING_URI`` (and for Salon
``MLFLOW_TRACKING_TOKEN``) set: once against a real ``mlflow server`` and once against the hub,
so that the two read-backs can be compared field by field. Ids, times and the user differ
between servers and are replaced by stable labels.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

EXPERIMENT = "drop-in"
T0 = 1_767_225_600_000  # 2026-01-01, in ms


def train(client: MlflowClient) -> dict[str, str]:
    """The calls of the issue, in the order a training script makes them."""
    mlflow.set_experiment(EXPERIMENT)
    ids: dict[str, str] = {}
    with mlflow.start_run(run_name="baseline", description="first try") as run:
        ids["baseline"] = run.info.run_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "optimizer": "adam", "layers": [64, 32]})
        for step in range(30):
            mlflow.log_metric("loss", 2.0 * math.exp(-step / 10), step=step, timestamp=T0 + step)
        mlflow.log_metrics({"val/acc": 0.81, "val/f1": float("nan")}, step=29, timestamp=T0 + 29)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "explore", "data": "v2"})
        with tempfile.TemporaryDirectory() as folder:
            notes = Path(folder) / "notes.md"
            notes.write_text("# Notes\nlearning rate too high?\n")
            mlflow.log_artifact(str(notes))
            (Path(folder) / "plots").mkdir()
            (Path(folder) / "plots" / "a.csv").write_text("x,y\n1,2\n")
            (Path(folder) / "plots" / "b.csv").write_text("x,y\n3,4\n")
            mlflow.log_artifacts(str(Path(folder) / "plots"), artifact_path="plots")
        mlflow.log_text("hello", "text/hello.txt")
        mlflow.log_dict({"classes": ["ok", "defect"], "threshold": 0.5}, "config.json")
        mlflow.log_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "figures/curve.html")
        frame = pd.DataFrame({"width": [1.0, 2.0, 3.0], "label": ["ok", "defect", "ok"]})
        mlflow.log_input(
            mlflow.data.from_pandas(frame, name="parts", targets="label"), context="training"
        )
        with mlflow.start_run(run_name="fold-1", nested=True) as child:
            ids["fold-1"] = child.info.run_id
            mlflow.log_metric("loss", 0.7, step=0, timestamp=T0)
        try:
            mlflow.log_param("lr", 0.02)
        except MlflowException as exc:
            ids["changed param"] = exc.error_code
    mlflow.sklearn.autolog(log_models=False, log_datasets=False)
    with mlflow.start_run(run_name="sklearn") as run:
        ids["sklearn"] = run.info.run_id
        features = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]] * 5)
        labels = np.array([0, 1, 0, 1] * 5)
        model = LogisticRegression(max_iter=200).fit(features, labels)
        mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="drop-in-classifier",
            serialization_format="cloudpickle",
        )
    mlflow.sklearn.autolog(disable=True)
    return ids


def registry(client: MlflowClient, run_id: str) -> None:
    client.create_registered_model(
        "drop-in-registry", tags={"owner": "vision"}, description="made by hand"
    )
    for _ in range(2):
        client.create_model_version(
            "drop-in-registry",
            f"runs:/{run_id}/model",
            run_id=run_id,
            tags={"framework": "sklearn"},
        )
    client.set_registered_model_alias("drop-in-registry", "champion", "2")
    client.set_registered_model_tag("drop-in-registry", "domain", "defects")
    client.set_model_version_tag("drop-in-registry", "1", "validated", "no")
    client.update_registered_model("drop-in-registry", description="the better description")
    client.update_model_version("drop-in-registry", "2", description="second")


def errors(client: MlflowClient) -> dict[str, str]:
    found = {}
    for name, call in {
        "missing run": lambda: client.get_run("0123456789abcdef"),
        "missing experiment": lambda: client.get_experiment("987654321"),
        "missing model": lambda: client.get_registered_model("no-such-model"),
        "duplicate experiment": lambda: client.create_experiment(EXPERIMENT),
        "reserved alias": lambda: client.set_registered_model_alias(
            "drop-in-registry", "latest", "1"
        ),
    }.items():
        try:
            call()
            found[name] = "no error"
        except MlflowException as exc:
            found[name] = exc.error_code
    return found


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found.update(_artifacts(client, run_id, item.path))
        else:
            local = client.download_artifacts(run_id, item.path, tempfile.mkdtemp())
            found[item.path] = [item.file_size, Path(local).read_bytes().decode()[:200]]
    return found


def read_back(client: MlflowClient, ids: dict[str, str]) -> dict[str, Any]:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    labels = {value: name for name, value in ids.items()}
    runs = {}
    for name in ("baseline", "fold-1", "sklearn"):
        run = client.get_run(ids[name])
        tags = dict(run.data.tags)
        tags.pop("mlflow.source.name", None)
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = labels[tags["mlflow.parentRunId"]]
        runs[name] = {
            "name": run.info.run_name,
            "status": run.info.status,
            "experiment": run.info.experiment_id == experiment.experiment_id,
            "params": dict(run.data.params),
            "metrics": {k: repr(v) for k, v in run.data.metrics.items()},
            "tags": tags,
            "histories": {
                key: [
                    (m.step, m.timestamp if name != "sklearn" else 0, repr(m.value))
                    for m in client.get_metric_history(run.info.run_id, key)
                ]
                for key in run.data.metrics
            },
            "artifacts": _artifacts(client, run.info.run_id),
            "inputs": [
                (
                    i.dataset.name,
                    i.dataset.digest,
                    i.dataset.source_type,
                    {t.key: t.value for t in i.tags},
                )
                for i in run.inputs.dataset_inputs
            ],
            "outputs": len(run.outputs.model_outputs) if run.outputs else 0,
        }
    searched = {
        "filtered": [
            r.info.run_name
            for r in client.search_runs(
                [experiment.experiment_id], "metrics.loss < 1 and params.optimizer = 'adam'"
            )
        ],
        "nested": [
            r.info.run_name
            for r in client.search_runs(
                [experiment.experiment_id], f"tags.`mlflow.parentRunId` = '{ids['baseline']}'"
            )
        ],
        "ordered": [
            r.info.run_name
            for r in client.search_runs(
                [experiment.experiment_id], "", order_by=["attributes.run_name DESC"]
            )
        ],
        "finished": len(
            client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
        ),
        "paged": _paged(client, experiment.experiment_id),
        "frame": sorted(mlflow.search_runs([experiment.experiment_id])["tags.mlflow.runName"]),
    }
    models = {}
    for name in ("drop-in-classifier", "drop-in-registry"):
        model = client.get_registered_model(name)
        versions = client.search_model_versions(f"name = '{name}'")
        models[name] = {
            "description": model.description,
            "tags": dict(model.tags),
            "aliases": dict(model.aliases),
            "versions": sorted(
                (
                    v.version,
                    v.status,
                    labels.get(v.run_id, v.run_id),
                    dict(v.tags),
                    v.description or "",
                    v.source.startswith(("models:/m-", "runs:/")),
                )
                for v in versions
            ),
            "champion": client.get_model_version_by_alias(name, "champion").version
            if "champion" in model.aliases
            else None,
        }
    return {"runs": runs, "search": searched, "models": models}


def _paged(client: MlflowClient, experiment_id: str) -> list[str]:
    names, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id], max_results=1, page_token=token, order_by=["attributes.start_time ASC"]
        )
        names += [r.info.run_name for r in page]
        token = page.token
        if not token:
            return names


def main() -> None:
    client = MlflowClient()
    ids = train(client)
    registry(client, ids["sklearn"])
    result = read_back(client, ids)
    result["errors"] = {"changed param": ids.pop("changed param", "no error"), **errors(client)}
    Path(sys.argv[1]).write_text(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
