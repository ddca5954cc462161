"""`salon import mlflow` from a real MLflow store (SQLite, written by MLflow's own client)
into a live hub: everything arrives once, an interrupted import resumes, a second run changes
nothing, and what cannot come is reported with the reason."""

from __future__ import annotations

import hashlib
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.postgres import run_sql
from tests.conftest import LiveHub
from tests.test_cli import SALON, salon_env

API = "/api/2.0/mlflow"
EXPERIMENTS = {"defects": 20, "churn": 10}
POINTS = 200


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An MLflow SQLite store with 30 runs of 200-point curves, nested runs, artifacts, a
    deleted experiment and a registered model with an alias."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    folder = tmp_path_factory.mktemp("mlflow-store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    notes = folder / "notes.txt"
    notes.write_text("trained on line C\n")
    first: dict[str, str] = {}
    for name, count in EXPERIMENTS.items():
        experiment = client.create_experiment(name, artifact_location=str(folder / name))
        for i in range(count):
            tags = {"team": "vision"}
            if i % 10 == 5:
                tags["mlflow.parentRunId"] = first[name]
            run = client.create_run(
                experiment,
                start_time=1_767_225_600_000 + i * 60_000,
                tags=tags,
                run_name=f"{name}-{i}",
            )
            first.setdefault(name, run.info.run_id)
            metrics = [
                Metric("loss", 2 * math.exp(-s / 50) + i / 100, 1_767_225_600_000 + s, s)
                for s in range(POINTS)
            ]
            metrics.append(Metric("val/acc", 0.7 + i / 100, 1_767_225_600_000, POINTS))
            params = [Param("lr", str(0.001 * (1 + i % 5))), Param("epochs", "20")]
            client.log_batch(
                run.info.run_id, metrics=metrics, params=params, tags=[RunTag("stage", "sweep")]
            )
            if i % 10 == 0:
                client.log_artifact(run.info.run_id, str(notes), "docs")
            client.set_terminated(
                run.info.run_id,
                "FAILED" if i == 3 else "FINISHED",
                end_time=1_767_225_600_000 + i * 60_000 + 30_000,
            )
    gone = client.create_experiment("abandoned")
    client.create_run(gone)
    client.delete_experiment(gone)
    client.create_registered_model("detector", description="finds defects")
    run_ids = [
        r.info.run_id
        for r in client.search_runs(
            [client.get_experiment_by_name("defects").experiment_id],
            order_by=["attributes.start_time ASC"],
        )
    ]
    for run_id in run_ids[:2]:
        client.create_model_version("detector", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("detector", "champion", "2")
    yield uri


def salon_import(hub: LiveHub, uri: str, *extra: str) -> subprocess.Popen[str]:
    """``salon import mlflow`` as a process of its own. Its temporary files (the readable copy
    of a SQLite store) go under the test's folder: an import the test kills cannot remove
    them, and they were left in /tmp after every run."""
    env = salon_env(
        hub.settings.data_dir,
        SALON_URL=hub.url,
        SALON_TOKEN=hub.token,
        TMPDIR=str(hub.settings.data_dir),
    )
    return subprocess.Popen(
        [*SALON, "import", "mlflow", "--from", uri, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hub_runs(hub: LiveHub, experiment: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {hub.token}"}
    found = httpx.get(
        f"{hub.url}{API}/experiments/get-by-name",
        headers=headers,
        params={"experiment_name": experiment},
    )
    if found.status_code != 200:
        return []
    experiment_id = found.json()["experiment"]["experiment_id"]
    page = httpx.post(
        f"{hub.url}{API}/runs/search",
        headers=headers,
        timeout=60,
        json={"experiment_ids": [experiment_id], "max_results": 1000},
    )
    runs: list[dict[str, Any]] = page.json().get("runs", [])
    return runs


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"]["tags"]}


@pytest.mark.slow
def test_an_interrupted_import_resumes_and_a_second_one_changes_nothing(
    hub_server: LiveHub, source: str
) -> None:
    first = salon_import(hub_server, source, "--project", "vision")
    deadline = time.monotonic() + 120
    while len(hub_runs(hub_server, "vision/defects")) < 5:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    partial = hub_runs(hub_server, "vision/defects")
    assert 5 <= len(partial) < 20, "the import should have been cut short"

    second = salon_import(hub_server, source, "--project", "vision")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "runs: 30 copied" not in out, "runs finished before the interruption count as there"
    assert "read back from the copy" in out and "differs" not in out, out
    # Runs copied before the interruption are read back too.
    rows = [line.split()[:4] for line in out.splitlines()]
    assert ["runs", "(all)", "30", "30"] in rows and ["experiments", "(all)", "2", "2"] in rows
    assert "1: experiment deleted in MLflow" in out
    for experiment, count in EXPERIMENTS.items():
        runs = hub_runs(hub_server, f"vision/{experiment}")
        assert len(runs) == count
        assert sorted(tags_of(r)["salon.copy.source_run_id"] for r in runs) == sorted(
            {tags_of(r)["salon.copy.source_run_id"] for r in runs}
        ), "every source run exactly once"
        by_name = {r["info"]["run_name"]: r for r in runs}
        assert all(tags_of(r)["salon.copy.complete"] == "true" for r in runs)
        third = by_name[f"{experiment}-3"]
        assert third["info"]["status"] == "FAILED"
        assert third["info"]["start_time"] == 1_767_225_600_000 + 3 * 60_000
        assert {p["key"]: p["value"] for p in third["data"]["params"]} == {
            "lr": "0.004",
            "epochs": "20",
        }
        child = tags_of(by_name[f"{experiment}-5"])
        assert child["mlflow.parentRunId"] == by_name[f"{experiment}-0"]["info"]["run_id"]
        headers = {"Authorization": f"Bearer {hub_server.token}"}
        for run in runs:
            wanted = {"run_id": run["info"]["run_id"], "metric_key": "loss"}
            history = httpx.get(
                f"{hub_server.url}{API}/metrics/get-history", headers=headers, params=wanted
            )
            steps = [m["step"] for m in history.json()["metrics"]]
            assert steps == list(range(POINTS)), "the full history, no point twice"
        notes = httpx.get(
            f"{hub_server.url}/api/2.0/mlflow-artifacts/artifacts/"
            f"{runs[0]['info']['experiment_id']}/{by_name[f'{experiment}-0']['info']['run_id']}"
            "/artifacts/docs/notes.txt",
            headers=headers,
        )
        assert notes.content == b"trained on line C\n"

    model = httpx.get(
        f"{hub_server.url}{API}/registered-models/get",
        params={"name": "vision.detector"},
        headers=headers,
    ).json()["registered_model"]
    assert model["description"] == "finds defects"
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]

    again = salon_import(hub_server, source, "--project", "vision")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "runs: 0 copied, 30 already there" in out
    assert "versions: 0 copied, 2 already there" in out
    assert sum(len(hub_runs(hub_server, f"vision/{e}")) for e in EXPERIMENTS) == 30


def test_a_source_that_cannot_be_read_gets_a_clear_message(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    done = salon_import(hub_server, "http://127.0.0.1:9/")
    _, err = done.communicate(timeout=120)
    assert done.returncode != 0
    assert "MLflow at http://127.0.0.1:9/ failed to list experiments" in err


@pytest.fixture(scope="module")
def postgres(postgres_cluster: str) -> Iterator[str]:
    """A database owned by a new role, in the suite's own PostgreSQL cluster."""
    name = f"salon_import_{os.getpid()}"
    made = (
        f"CREATE ROLE {name} LOGIN PASSWORD 'secret-{name}'",
        f"CREATE DATABASE {name} OWNER {name}",
    )
    for statement in made:
        run_sql(postgres_cluster, statement)
    try:
        yield f"postgresql://{name}:secret-{name}@{postgres_cluster}/{name}"
    finally:
        for statement in (f"DROP DATABASE {name} WITH (FORCE)", f"DROP ROLE {name}"):
            run_sql(postgres_cluster, statement)


def small_store(uri: str, experiment: str) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.create_run(client.create_experiment(experiment), run_name="only")
    client.log_batch(
        run.info.run_id, metrics=[Metric("loss", 1 / (s + 1), s, s) for s in range(120)]
    )
    client.set_terminated(run.info.run_id)


@pytest.mark.slow
def test_imports_from_postgresql_and_from_an_mlruns_folder(
    hub_server: LiveHub, postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    folder = tmp_path / "mlruns"
    small_store(folder.as_uri(), "from-folder")
    small_store(postgres, "from-postgres")
    for uri in (postgres, str(folder)):
        done = salon_import(hub_server, uri, "--project", "old")
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
        assert "secret-" not in out, "the summary never shows the store's password"
        assert "metric points: 120" in out
    for experiment in ("old/from-folder", "old/from-postgres"):
        (run,) = hub_runs(hub_server, experiment)
        assert run["data"]["metrics"][0]["step"] == 119
        assert "secret-" not in tags_of(run)["salon.copy.source"]


@pytest.mark.slow
def test_a_project_exports_to_a_store_mlflow_reads_alone(
    hub_server: LiveHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    import hub as salon

    run = salon.init(
        project="vision",
        experiment="detector",
        name="native",
        url=hub_server.url,
        token=hub_server.token,
        config={"lr": 0.01},
        capture_environment=False,
    )
    for step in range(500):
        run.log({"loss": 1 / (step + 1)}, step=step)
    run.finish()
    registry = salon.Client(hub_server.url, hub_server.token).models
    registry.register(run.id, "detector", "s3://models/detector.onnx")
    registry.register(run.id, "detector", f"runs:/{run.id}/model")
    # An MLflow 3 logged model of the run, with a file, and a version from outside Salon.
    headers = {"Authorization": f"Bearer {hub_server.token}"}
    experiment_id = httpx.get(
        f"{hub_server.url}{API}/runs/get", params={"run_id": run.id}, headers=headers
    ).json()["run"]["info"]["experiment_id"]
    made = httpx.post(
        f"{hub_server.url}{API}/logged-models",
        json={
            "experiment_id": experiment_id,
            "name": "onnx-export",
            "source_run_id": run.id,
            "params": [{"key": "opset", "value": "17"}],
        },
        headers=headers,
    ).json()["model"]["info"]
    stored = httpx.put(
        f"{hub_server.url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/models/"
        f"{made['model_id']}/artifacts/model.onnx",
        content=b"onnx weights",
        headers=headers,
    )
    assert stored.status_code == 200, stored.text
    finished = httpx.patch(
        f"{hub_server.url}{API}/logged-models/{made['model_id']}",
        json={"status": "LOGGED_MODEL_READY"},
        headers=headers,
    )
    assert finished.status_code == 200, finished.text
    used = httpx.post(
        f"{hub_server.url}{API}/runs/log-inputs",
        json={
            "run_id": run.id,
            "datasets": [
                {
                    "dataset": {"name": "defects", "digest": "d1", "source_type": "local"},
                    "tags": [{"key": "mlflow.data.context", "value": "training"}],
                }
            ],
        },
        headers=headers,
    )
    assert used.status_code == 200, used.text
    outside = httpx.post(
        f"{hub_server.url}{API}/model-versions/create",
        json={"name": "vision.detector", "source": "s3://elsewhere/detector"},
        headers=headers,
    )
    assert outside.status_code == 200, outside.text
    other = salon.init(
        project="secret",
        experiment="x",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    other.finish()
    out_dir = tmp_path / "exported"
    env = salon_env(
        hub_server.settings.data_dir, SALON_URL=hub_server.url, SALON_TOKEN=hub_server.token
    )
    for _ in range(2):
        done = subprocess.run(
            [*SALON, "export", "mlflow", "vision", "--to", str(out_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert "runs: 0 copied, 1 already there" in done.stdout, "a second export changes nothing"

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    # MLflow's registry reads runs:/ sources through the default tracking URI (else a
    # mlflow.db in the working directory).
    monkeypatch.setenv("MLFLOW_TRACKING_URI", out_dir.as_uri())
    client = MlflowClient(tracking_uri=out_dir.as_uri(), registry_uri=out_dir.as_uri())
    assert [e.name for e in client.search_experiments()] == ["detector"]
    (exported,) = client.search_runs([client.get_experiment_by_name("detector").experiment_id])
    assert (exported.info.run_name, exported.info.status) == ("native", "FINISHED")
    assert exported.data.params == {"lr": "0.01"}
    (read,) = exported.inputs.dataset_inputs
    assert (read.dataset.name, read.dataset.digest) == ("defects", "d1")
    assert {(t.key, t.value) for t in read.tags} == {("mlflow.data.context", "training")}
    history = client.get_metric_history(exported.info.run_id, "loss")
    assert [m.step for m in history] == list(range(500))
    versions = sorted(client.search_model_versions("name = 'detector'"), key=lambda v: v.version)
    assert [(v.source, v.run_id or None) for v in versions] == [
        ("s3://models/detector.onnx", exported.info.run_id),
        (f"runs:/{exported.info.run_id}/model", exported.info.run_id),
        ("s3://elsewhere/detector", None),
    ], "a runs:/ source names the exported run; a version without a run stays without one"
    (logged,) = client.search_logged_models([exported.info.experiment_id])
    assert (logged.name, logged.params, logged.source_run_id) == (
        "onnx-export",
        {"opset": "17"},
        exported.info.run_id,
    )
    files = [f.path for f in client.list_logged_model_artifacts(logged.model_id)]
    assert files == ["model.onnx"]
    tokens = hub_server.graphql("{ apiTokens { name revokedAt } }")["data"]["apiTokens"]
    assert all(t["revokedAt"] for t in tokens if t["name"] == "mlflow export")


def older_store(folder: Path) -> str:
    """A SQLite store as a team's older MLflow left it: a scikit-learn model saved the MLflow 2
    way (in its run's artifacts) and registered as ``detector`` version 1 from the artifact
    location, and the schema five migrations behind this MLflow's."""
    from mlflow import MlflowClient
    from mlflow.sklearn import save_model
    from sklearn.linear_model import LogisticRegression

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("detector", artifact_location=str(folder / "art"))
    run = client.create_run(experiment, run_name="fit")
    model = LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], [0, 1, 0, 1])
    save_model(model, str(folder / "saved"), serialization_format="cloudpickle")
    client.log_artifacts(run.info.run_id, str(folder / "saved"), "model")
    client.set_terminated(run.info.run_id)
    client.create_registered_model("detector")
    source = f"{folder / 'art'}/{run.info.run_id}/artifacts/model"
    client.create_model_version("detector", source, run.info.run_id)
    downgrade(uri, 5)
    return uri


def revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # MLflow's own notes on saving the model
def test_an_older_sqlite_store_is_left_as_it_was_and_its_models_load_after_import(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    uri = older_store(tmp_path)
    path = tmp_path / "mlflow.db"
    before, old_revision = hashlib.sha256(path.read_bytes()).hexdigest(), revision(path)
    done = salon_import(hub_server, uri, "--project", "legacy")
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert "versions: 1 copied" in out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the source is never written"
    assert revision(path) == old_revision
    assert sorted(p.name for p in tmp_path.glob("mlflow.db*")) == ["mlflow.db"]

    (run,) = hub_runs(hub_server, "legacy/detector")
    headers = {"Authorization": f"Bearer {hub_server.token}"}
    version = httpx.get(
        f"{hub_server.url}{API}/model-versions/get",
        headers=headers,
        params={"name": "legacy.detector", "version": "1"},
    )
    assert version.json()["model_version"]["source"] == f"runs:/{run['info']['run_id']}/model"
    loads = predicts(hub_server.url, hub_server.token, "models:/legacy.detector/1")
    assert loads.returncode == 0, loads.stderr[-3000:]
    assert loads.stdout.strip() == "[np.int64(1), np.int64(0)]"


def downgrade(uri: str, steps: int) -> str:
    """Take the MLflow store at ``uri`` ``steps`` migrations back; returns that revision."""
    import sqlalchemy
    from alembic import command
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    config = _get_alembic_config(uri)
    older = [s.revision for s in ScriptDirectory.from_config(config).walk_revisions()][steps]
    engine = sqlalchemy.create_engine(uri)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, older)
    engine.dispose()
    return str(older)


@pytest.mark.slow
def test_an_older_postgresql_store_is_refused_and_left_as_it_was(
    hub_server: LiveHub, postgres: str
) -> None:
    """A database server's store cannot be copied first, so one this MLflow would migrate is
    refused before MLflow opens it, with what to do instead; the password is not shown."""
    import sqlalchemy

    small_store(postgres, "before-the-upgrade")
    older = downgrade(postgres, 5)
    done = salon_import(hub_server, postgres, "--project", "old")
    _, err = done.communicate(timeout=300)
    assert done.returncode != 0
    assert "would migrate the store in place" in err and "--from http" in err, err
    assert "secret-" not in err
    engine = sqlalchemy.create_engine(postgres)
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
        assert stored.scalar() == older
    engine.dispose()


@pytest.mark.slow
def test_files_a_tracking_server_proxied_are_copied_from_its_folder_given_with_artifacts_from(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    from bench.servers import start_mlflow

    server = start_mlflow(tmp_path / "team-server", proxied=True)
    try:
        server.wait_healthy()
        client = MlflowClient(tracking_uri=server.url)
        run = client.create_run(client.create_experiment("served"), run_name="with-files")
        notes = tmp_path / "notes.txt"
        notes.write_text("kept by the server\n")
        client.log_artifact(run.info.run_id, str(notes), "docs")
        client.set_terminated(run.info.run_id)
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    finally:
        server.stop()
    store = f"sqlite:///{tmp_path / 'team-server' / 'mlflow' / 'mlflow.db'}"
    folder = tmp_path / "team-server" / "mlflow" / "mlartifacts"

    without = salon_import(hub_server, store, "--project", "vision")
    out, err = without.communicate(timeout=300)
    assert without.returncode == 0, err
    assert "artifacts: 0 files" in out and "--artifacts-from" in out
    (copied,) = hub_runs(hub_server, "vision/served")
    assert "salon.copy.complete" not in tags_of(copied), "a run without its files counts as done"

    again = salon_import(hub_server, store, "--project", "vision", "--artifacts-from", str(folder))
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "artifacts: 1 files" in out, out
    (copied,) = hub_runs(hub_server, "vision/served")
    assert tags_of(copied)["salon.copy.complete"] == "true"
    file = httpx.get(
        f"{hub_server.url}/api/2.0/mlflow-artifacts/artifacts/x/{copied['info']['run_id']}"
        "/artifacts/docs/notes.txt",
        headers={"Authorization": f"Bearer {hub_server.token}"},
    )
    assert file.content == b"kept by the server\n"


LOG_MODEL = """
import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

mlflow.set_experiment("detector")
with mlflow.start_run(run_name="fit"):
    mlflow.log_input(mlflow.data.from_numpy(np.ones((4, 2)), name="toy"), context="training")
    model = LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0], [0.1, 0.0], [0.9, 1.0]], [0, 1, 0, 1])
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        registered_model_name="detector",
        serialization_format="cloudpickle",
        pip_requirements=["scikit-learn"],
    )
    mlflow.log_metric("accuracy", 1.0, model_id=info.model_id)
print(info.model_id)
"""


def predicts(url: str, token: str | None, *uris: str) -> subprocess.CompletedProcess[str]:
    """Each of ``uris`` loaded with mlflow.pyfunc and asked two predictions, one line each, in
    one process: importing MLflow and scikit-learn takes seconds."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    return subprocess.run(
        [
            sys.executable,
            "-c",
            f"import mlflow\nfor uri in {list(uris)!r}:\n"
            "    model = mlflow.pyfunc.load_model(uri)\n"
            "    print(list(model.predict([[1.0, 1.0], [0.0, 0.0]])))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_logged_models_are_imported_and_every_models_uri_loads_from_salon(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    from bench.servers import start_mlflow

    server = start_mlflow(tmp_path / "team-server", proxied=True)
    try:
        server.wait_healthy()
        env = {**os.environ, "MLFLOW_TRACKING_URI": server.url}
        env.pop("MLFLOW_TRACKING_TOKEN", None)
        logged = subprocess.run(
            [sys.executable, "-c", LOG_MODEL],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert logged.returncode == 0, logged.stderr[-3000:]
        old_id = logged.stdout.strip().splitlines()[-1]
        done = salon_import(hub_server, server.url, "--project", "imported")
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
    finally:
        server.stop()
    assert "logged models: 1 copied" in out and "versions: 1 copied" in out, out
    assert "read back from the copy" in out and "differs" not in out, out
    # The table counts every kind of object at the target, not only this copy's runs.
    rows = {
        line[:24].strip(): line[24:].split()[:2]
        for line in out.splitlines()
        if line.startswith("  ") and len(line[24:].split()) >= 2
    }
    for row in ("logged models", "registered models", "model versions"):
        assert rows.get(row) == ["1", "1"], (row, out)
    headers = {"Authorization": f"Bearer {hub_server.token}"}
    version = httpx.get(
        f"{hub_server.url}{API}/model-versions/get",
        headers=headers,
        params={"name": "imported.detector", "version": "1"},
    ).json()["model_version"]
    new_id = version["model_id"]

    assert new_id and new_id != old_id and version["source"] == f"models:/{new_id}", version
    copied = httpx.get(f"{hub_server.url}{API}/logged-models/{new_id}", headers=headers).json()
    assert copied["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    # The metric logged with the model is the copy's too, and its run holds it once.
    metrics = copied["model"]["data"]["metrics"]
    assert [(m["key"], m["value"]) for m in metrics] == [("accuracy", 1.0)], metrics
    run_id = copied["model"]["info"]["source_run_id"]
    history = httpx.get(
        f"{hub_server.url}{API}/metrics/get-history",
        params={"run_id": run_id, "metric_key": "accuracy"},
        headers=headers,
    ).json()["metrics"]
    assert [m["value"] for m in history] == [1.0]
    # The dataset the run read and the model it made come with it.
    copied_run = httpx.get(
        f"{hub_server.url}{API}/runs/get", params={"run_id": run_id}, headers=headers
    ).json()["run"]
    (used,) = copied_run["inputs"]["dataset_inputs"]
    assert used["dataset"]["name"] == "toy"
    assert {"key": "mlflow.data.context", "value": "training"} in used["tags"]
    outputs = copied_run["outputs"]["model_outputs"]
    assert [o["model_id"] for o in outputs] == [new_id]
    assert "salon.copy.complete" in {t["key"] for t in copied_run["data"]["tags"]}
    loads = predicts(
        hub_server.url, hub_server.token, "models:/imported.detector/1", f"models:/{new_id}"
    )
    assert loads.returncode == 0, loads.stderr[-3000:]
    assert loads.stdout.split("\n") == ["[np.int64(1), np.int64(0)]"] * 2 + [""]
