"""The stock MLflow client against a real ``mlflow server`` and against the hub: the same script
(``tests/mlflow/script.py``) runs once against each, and what it reads back must be equal, field
by field: runs, params, metric histories, tags, artifacts, inputs, registered versions, search
results and error codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.servers import Server
from tests.conftest import LiveHub
from tests.test_cli import SALON, salon_env

ROOT = Path(__file__).resolve().parents[2]


def script(url: str, out: Path, token: str | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # a server error fails at once
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    }
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "tests.mlflow.script", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes], out: Path, server: str) -> dict[str, Any]:
    _, errors = process.communicate(timeout=240)
    assert process.returncode == 0, f"the script failed against {server}:\n{errors.decode()}"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                found.append(f"{path}/{key}: only on {'MLflow' if key in left else 'Salon'}")
            else:
                found += differences(left[key], right[key], f"{path}/{key}")
        return found
    return [] if left == right else [f"{path}: MLflow {left!r} != Salon {right!r}"]


@pytest.mark.slow
def test_the_same_script_reads_back_the_same_from_mlflow_and_from_salon(
    mlflow_server: Server, hub_server: LiveHub, tmp_path: Path
) -> None:
    reference = script(mlflow_server.url, tmp_path / "mlflow.json")
    ours = script(hub_server.url, tmp_path / "salon.json", hub_server.token)
    expected = finished(reference, tmp_path / "mlflow.json", "MLflow")
    got = finished(ours, tmp_path / "salon.json", "Salon")
    assert expected["runs"]["baseline"]["histories"]["loss"], "the script logged nothing"
    assert expected["errors"]["changed param"] == "INVALID_PARAMETER_VALUE"
    assert differences(expected, got) == []


@pytest.mark.slow
def test_salon_imports_from_a_running_mlflow_server(
    mlflow_server: Server, hub_server: LiveHub
) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=mlflow_server.url)
    experiment = client.create_experiment("served")
    run = client.create_run(experiment, run_name="on-the-server")
    client.log_batch(
        run.info.run_id, metrics=[Metric("loss", 1 / (s + 1), s, s) for s in range(2500)]
    )
    client.log_param(run.info.run_id, "lr", "0.01")
    client.set_terminated(run.info.run_id)
    done = subprocess.run(
        [*SALON, "import", "mlflow", "--from", mlflow_server.url, "--project", "served"],
        env=salon_env(
            hub_server.settings.data_dir, SALON_URL=hub_server.url, SALON_TOKEN=hub_server.token
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    headers = {"Authorization": f"Bearer {hub_server.token}"}
    found = httpx.get(
        f"{hub_server.url}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "served/served"},
        headers=headers,
    )
    runs = httpx.post(
        f"{hub_server.url}/api/2.0/mlflow/runs/search",
        headers=headers,
        json={"experiment_ids": [found.json()["experiment"]["experiment_id"]]},
    ).json()["runs"]
    (copied,) = [r for r in runs if r["info"]["run_name"] == "on-the-server"]
    assert copied["data"]["params"] == [{"key": "lr", "value": "0.01"}]
    history = httpx.get(
        f"{hub_server.url}/api/2.0/mlflow/metrics/get-history",
        headers=headers,
        params={"run_id": copied["info"]["run_id"], "metric_key": "loss"},
    )
    assert [m["step"] for m in history.json()["metrics"]] == list(range(2500))
