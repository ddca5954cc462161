"""A training script as teams still on MLflow 2 write it, then what it reads back, as JSON.

Run by ``test_older_clients.py`` with the last MLflow 2 client (``bench/.mlflow2-venv``), once
against MLflow's server and once against the hub: ``python mlflow2_script.py EXPERIMENT``
with ``MLFLOW_TRACKING_URI`` (and for Salon ``MLFLOW_TRACKING_TOKEN``) set. It imports only
MLflow, so that it runs in that venv; ids and times differ between servers and are left out.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def main(experiment: str) -> dict[str, Any]:
    client = MlflowClient()
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_params({"lr": 0.01, "epochs": 3})
        for step in range(20):
            mlflow.log_metric("loss", math.exp(-step / 5), step=step)
        mlflow.set_tags({"team": "cv"})
        folder = Path(tempfile.mkdtemp())
        (folder / "notes.txt").write_text("first try")
        mlflow.log_artifact(str(folder / "notes.txt"))
        mlflow.log_dict({"batch": 64}, "config/params.json")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("acc", 0.9)
    run_id = run.info.run_id
    got = client.get_run(run_id)
    found = client.get_experiment_by_name(experiment)
    children = client.search_runs([found.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    model = f"{experiment}-model"
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id)
    client.set_registered_model_alias(model, "champion", version.version)
    client.transition_model_version_stage(model, version.version, "Staging")
    try:
        client.log_param(run_id, "lr", 0.02)
        changed = "ok"
    except MlflowException as exc:
        changed = exc.error_code
    accurate = client.search_runs([found.experiment_id], "metrics.acc > 0.5")
    client.delete_run(accurate[0].info.run_id)
    return {
        "params": got.data.params,
        "metrics": got.data.metrics,
        "team": got.data.tags.get("team"),
        "status": got.info.status,
        "history": [(m.step, round(m.value, 6)) for m in client.get_metric_history(run_id, "loss")],
        "artifacts": sorted(a.path for a in client.list_artifacts(run_id)),
        "config": mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json"),
        "search": [r.info.run_name for r in accurate],
        "children": [r.info.run_name for r in children],
        "alias": client.get_model_version_by_alias(model, "champion").version,
        "latest": [
            (v.version, v.current_stage) for v in client.get_latest_versions(model, ["Staging"])
        ],
        "changed param": changed,
        "deleted": client.get_run(accurate[0].info.run_id).info.lifecycle_stage,
        "mlflow": mlflow.__version__.split(".")[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), sort_keys=True))
