"""Teams still on MLflow 2: the last MLflow 2 client (in ``bench/.mlflow2-venv``, which
``make test`` makes) runs the same script against MLflow's server and against the hub, and
reads back the same: params, metrics and history, tags, files, search, nested runs, the
registry (versions, aliases, stages), a refused param change and a deleted run."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from bench.servers import Server, ensure_mlflow2_venv
from tests.conftest import LiveHub

SCRIPT = Path(__file__).with_name("mlflow2_script.py")


def read_back(url: str, token: str | None, experiment: str, folder: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    done = subprocess.run(
        [str(ensure_mlflow2_venv()), str(SCRIPT), experiment],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.slow
def test_an_mlflow_2_script_reads_back_the_same_from_mlflow_and_from_salon(
    mlflow_server: Server, hub_server: LiveHub, tmp_path: Path
) -> None:
    experiment = f"older-{uuid.uuid4().hex[:6]}"
    expected = read_back(mlflow_server.url, None, experiment, tmp_path)
    got = read_back(hub_server.url, hub_server.token, experiment, tmp_path)
    assert expected["mlflow"] == "2" and expected["history"], expected
    assert got == expected
