"""The hub's MLflow endpoints on their own: what MLflow clients depend on (error codes and
statuses, limits, pagination), and Salon's rules behind them: roles, token scopes, the
promotion gate, the audit trail, and bad, oversized, unauthorized and concurrent input."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import hub
from hub.domain.audit import AuditQuery
from hub.services.identity import tokens
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.api.test_models import POLICY, as_person
from tests.conftest import LiveHub, graphql_call, start_hub

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def rest(
    live: LiveHub, method: str, path: str, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or live.token}"} if token != "" else {}
    return httpx.request(method, live.url + path, headers=headers, timeout=30, **kwargs)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert (response.status_code, response.json()["error_code"]) == (status, code), response.text
    message: str = response.json()["message"]
    return message


def new_run(live: LiveHub, token: str | None = None, experiment: str = "vision/e") -> str:
    found = rest(
        live, "GET", f"{API}/experiments/get-by-name", token, params={"experiment_name": experiment}
    )
    if found.status_code == 404:
        experiment_id = ok(
            rest(live, "POST", f"{API}/experiments/create", token, json={"name": experiment})
        )["experiment_id"]
    else:
        experiment_id = found.json()["experiment"]["experiment_id"]
    made = ok(
        rest(
            live,
            "POST",
            f"{API}/runs/create",
            token,
            json={"experiment_id": experiment_id, "start_time": 1_700_000_000_000},
        )
    )
    run_id: str = made["run"]["info"]["run_id"]
    return run_id


@pytest.fixture
def team(hub_server: LiveHub) -> dict[str, str]:
    hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    return {
        "ana": person(hub_server, "ana", "editor", "vision"),
        "vic": person(hub_server, "vic", "viewer", "vision"),
        "mia": person(hub_server, "mia", "maintainer", "vision"),
        "otto": person(hub_server, "otto", None),
    }


def test_runs_logged_through_mlflow_are_ordinary_salon_runs(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    run_id = new_run(hub_server, team["ana"])
    batch = {
        "run_id": run_id,
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "team", "value": "vision"}],
        "metrics": [
            {"key": "loss", "value": 1 / (s + 1), "timestamp": 1_700_000_000_000 + s, "step": s}
            for s in range(50)
        ],
    }
    ok(rest(hub_server, "POST", f"{API}/runs/log-batch", team["ana"], json=batch))
    ok(
        rest(
            hub_server,
            "POST",
            f"{API}/runs/update",
            team["ana"],
            json={"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_100_000},
        )
    )
    ok(
        rest(
            hub_server,
            "PUT",
            f"{ARTIFACTS}/x/{run_id}/artifacts/plots/roc.csv",
            team["ana"],
            content=b"fpr,tpr\n0,0\n1,1\n",
        )
    )
    seen = hub_server.graphql(
        "query($id: ID!) { run(id: $id) { name status user experiment { name } "
        "artifacts { path size uploadedBy downloadPath } "
        "params { key value } metrics { key lastStep lastValue } } }",
        {"id": run_id},
    )["data"]["run"]
    assert seen["status"] == "FINISHED" and seen["user"] == "ana"
    (roc,) = seen["artifacts"]
    assert (roc["path"], roc["size"], roc["uploadedBy"]) == ("plots/roc.csv", 16, "ana")
    assert rest(hub_server, "GET", roc["downloadPath"], team["vic"]).content.startswith(b"fpr")
    roc_digest = hashlib.sha256(b"fpr,tpr\n0,0\n1,1\n").hexdigest()
    assert hub_server.store.objects.exists(roc_digest, ""), (
        "named by its bytes, hashed as they came"
    )
    assert seen["experiment"]["name"] == "e"
    assert seen["params"] == [{"key": "lr", "value": "0.1"}]
    assert seen["metrics"] == [{"key": "loss", "lastStep": 49, "lastValue": 0.02}]
    events = asyncio.run(hub_server.store.audit.search(AuditQuery(), 200))
    assert {"run.log_batch", "run.finish", "experiment.read"} <= {e.action for e in events}
    history = ok(
        rest(
            hub_server,
            "GET",
            f"{API}/metrics/get-history",
            team["vic"],
            params={"run_id": run_id, "metric_key": "loss", "max_results": 20},
        )
    )
    assert [m["step"] for m in history["metrics"]] == list(range(20))
    rest_of = ok(
        rest(
            hub_server,
            "GET",
            f"{API}/metrics/get-history",
            team["vic"],
            params={
                "run_id": run_id,
                "metric_key": "loss",
                "page_token": history["next_page_token"],
            },
        )
    )
    assert [m["step"] for m in rest_of["metrics"]] == list(range(20, 50))
    assert "next_page_token" not in rest_of


def test_names_without_a_project_belong_to_the_mlflow_project_or_the_tokens_own(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    bare = ok(rest(hub_server, "POST", f"{API}/experiments/create", json={"name": "plain"}))
    got = ok(
        rest(
            hub_server,
            "GET",
            f"{API}/experiments/get",
            params={"experiment_id": bare["experiment_id"]},
        )
    )["experiment"]
    assert (got["name"], got["tags"]) == ("plain", [])
    store = hub_server.store
    user = asyncio.run(store.users.by_name("ana"))
    assert user is not None
    ana = asyncio.run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
    scoped = asyncio.run(tokens.create_token(store, ana, "ci", projects=["vision"]))[1]
    made = ok(
        rest(hub_server, "POST", f"{API}/experiments/create", scoped, json={"name": "nightly"})
    )
    got = ok(
        rest(
            hub_server,
            "GET",
            f"{API}/experiments/get-by-name",
            scoped,
            params={"experiment_name": "nightly"},
        )
    )["experiment"]
    assert got["experiment_id"] == made["experiment_id"]
    assert (got["name"], got["tags"]) == ("nightly", [])
    admin_view = ok(
        rest(
            hub_server,
            "GET",
            f"{API}/experiments/get",
            params={"experiment_id": made["experiment_id"]},
        )
    )["experiment"]
    assert admin_view["name"] == "vision/nightly"
    run_id = new_run(hub_server, experiment="plain")
    refused(
        rest(hub_server, "GET", f"{API}/runs/get", scoped, params={"run_id": run_id}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_roles_and_scopes_hold_through_the_mlflow_endpoints(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    run_id = new_run(hub_server, team["ana"])
    ok(
        rest(
            hub_server,
            "PUT",
            f"{ARTIFACTS}/x/{run_id}/artifacts/model.txt",
            team["ana"],
            content=b"weights",
        )
    )
    reads = [
        ("GET", f"{API}/runs/get", {"params": {"run_id": run_id}}),
        ("GET", f"{API}/metrics/get-history", {"params": {"run_id": run_id, "metric_key": "l"}}),
        ("GET", ARTIFACTS, {"params": {"path": f"x/{run_id}/artifacts"}}),
        ("GET", f"{ARTIFACTS}/x/{run_id}/artifacts/model.txt", {}),
    ]
    for method, path, kwargs in reads:
        assert rest(hub_server, method, path, team["vic"], **kwargs).status_code == 200, path
        hidden = rest(hub_server, method, path, team["otto"], **kwargs)
        if path.endswith("get-history"):  # as MLflow answers for a run it does not know
            assert ok(hidden) == {"metrics": []}
        else:
            refused(hidden, 404, "RESOURCE_DOES_NOT_EXIST")
        refused(rest(hub_server, method, path, "", **kwargs), 401, "UNAUTHENTICATED")
    assert (
        rest(hub_server, "GET", f"{ARTIFACTS}/x/{run_id}/artifacts/model.txt", team["vic"]).content
        == b"weights"
    )
    writes = [
        (
            "POST",
            f"{API}/runs/log-parameter",
            {"json": {"run_id": run_id, "key": "a", "value": "1"}},
        ),
        ("POST", f"{API}/runs/set-tag", {"json": {"run_id": run_id, "key": "a", "value": "1"}}),
        (
            "POST",
            f"{API}/runs/log-metric",
            {"json": {"run_id": run_id, "key": "l", "value": 1, "timestamp": 1}},
        ),
        ("POST", f"{API}/runs/update", {"json": {"run_id": run_id, "status": "KILLED"}}),
        ("PUT", f"{ARTIFACTS}/x/{run_id}/artifacts/evil.txt", {"content": b"x"}),
    ]
    for method, path, kwargs in writes:
        refused(rest(hub_server, method, path, team["vic"], **kwargs), 403, "PERMISSION_DENIED")
        refused(
            rest(hub_server, method, path, team["otto"], **kwargs), 404, "RESOURCE_DOES_NOT_EXIST"
        )
    listed = ok(
        rest(hub_server, "GET", ARTIFACTS, team["ana"], params={"path": f"x/{run_id}/artifacts"})
    )["files"]
    assert listed == [{"path": "model.txt", "is_dir": False, "file_size": 7}]
    searched = ok(rest(hub_server, "POST", f"{API}/experiments/search", team["otto"], json={}))
    assert searched["experiments"] == []
    basic = base64.b64encode(f"anything:{team['vic']}".encode()).decode()
    response = httpx.get(
        f"{hub_server.url}{API}/runs/get",
        params={"run_id": run_id},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok(response)["run"]["info"]["run_id"] == run_id


def test_bad_input_gets_mlflows_error_codes_and_stores_nothing(hub_server: LiveHub) -> None:
    run_id = new_run(hub_server)
    bad = [
        ("POST", "runs/log-batch", {"content": b"{not json"}),
        ("POST", "runs/log-batch", {"json": ["a list"]}),
        (
            "POST",
            "runs/log-batch",
            {
                "json": {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "l", "value": 1.0, "timestamp": 1, "step": s} for s in range(1001)
                    ],
                }
            },
        ),
        (
            "POST",
            "runs/log-batch",
            {
                "json": {
                    "run_id": run_id,
                    "params": [{"key": f"p{i}", "value": "v"} for i in range(101)],
                }
            },
        ),
        (
            "POST",
            "runs/log-batch",
            {
                "json": {
                    "run_id": run_id,
                    "metrics": [{"key": "l", "value": "high", "timestamp": 1}],
                }
            },
        ),
        (
            "POST",
            "runs/log-batch",
            {
                "json": {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "l", "value": 1.0, "timestamp": 1},
                        {"key": "", "value": 2.0, "timestamp": 1},
                    ],
                }
            },
        ),
        (
            "POST",
            "runs/log-parameter",
            {"json": {"run_id": run_id, "key": "k" * 300, "value": "v"}},
        ),
        ("POST", "runs/log-metric", {"json": {"run_id": run_id, "key": "l", "value": 1.0}}),
        ("POST", "runs/update", {"json": {"run_id": run_id, "status": "SCHEDULED"}}),
        ("POST", "runs/search", {"json": {"experiment_ids": ["0"], "filter": "metrics.l >"}}),
        ("POST", "runs/search", {"json": {"experiment_ids": ["0"], "max_results": 50001}}),
        (
            "GET",
            "metrics/get-history",
            {"params": {"run_id": run_id, "metric_key": "l", "page_token": "zzz"}},
        ),
        ("POST", "experiments/create", {"json": {"name": ""}}),
        ("POST", "registered-models/alias", {"json": {"name": "m", "alias": "v3", "version": "1"}}),
    ]
    for method, path, kwargs in bad:
        refused(rest(hub_server, method, f"{API}/{path}", **kwargs), 400, "INVALID_PARAMETER_VALUE")
    run = ok(rest(hub_server, "GET", f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert run["data"] == {"metrics": [], "params": [], "tags": run["data"]["tags"]}
    assert {t["key"] for t in run["data"]["tags"]} == {"mlflow.runName"}
    refused(
        rest(hub_server, "GET", f"{API}/runs/get", params={"run_id": "nope"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    refused(  # a call Salon does not serve
        rest(hub_server, "POST", f"{API}/experiments/no-such-call", json={"experiment_id": "1"}),
        404,
        "ENDPOINT_NOT_FOUND",
    )
    for path in ("../../etc/passwd", "a/../../b", "a/%01b", "a/%2e%2e/%2e%2e/b"):
        response = rest(hub_server, "PUT", f"{ARTIFACTS}/x/{run_id}/artifacts/{path}", content=b"x")
        assert response.status_code in (400, 404), (path, response.text)
    ok(
        rest(
            hub_server,
            "POST",
            f"{API}/runs/log-parameter",
            json={"run_id": run_id, "key": "lr", "value": "0.1"},
        )
    )
    message = refused(
        rest(
            hub_server,
            "POST",
            f"{API}/runs/log-parameter",
            json={"run_id": run_id, "key": "lr", "value": "0.2"},
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "immutable" in message


def test_an_oversized_artifact_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    for live in start_hub(tmp_path, demo=False, max_artifact_bytes=1000):
        run_id = new_run(live)
        refused(
            rest(live, "PUT", f"{ARTIFACTS}/x/{run_id}/artifacts/big.bin", content=b"x" * 5000),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        ok(rest(live, "PUT", f"{ARTIFACTS}/x/{run_id}/artifacts/small.bin", content=b"y" * 10))
        files = ok(rest(live, "GET", ARTIFACTS, params={"path": f"x/{run_id}/artifacts"}))
        assert [f["path"] for f in files["files"]] == ["small.bin"]
        assert not list((tmp_path / "tmp").glob("artifact-*"))
        assert len(list((tmp_path / "objects").glob("*/*"))) == 1


def test_concurrent_logging_loses_nothing(hub_server: LiveHub) -> None:
    run_id = new_run(hub_server)

    def batch(worker: int) -> int:
        metrics = [
            {"key": f"w{worker}", "value": float(s), "timestamp": s, "step": s} for s in range(200)
        ]
        params = [{"key": f"p{worker}", "value": str(worker)}]
        return rest(
            hub_server,
            "POST",
            f"{API}/runs/log-batch",
            json={"run_id": run_id, "metrics": metrics, "params": params},
        ).status_code

    def create(_: int) -> int:
        return rest(
            hub_server, "POST", f"{API}/experiments/create", json={"name": "vision/race"}
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(batch, range(8))) == [200] * 8
        statuses = sorted(pool.map(create, range(6)))
    assert statuses[0] == 200 and set(statuses[1:]) <= {200, 400}
    run = ok(rest(hub_server, "GET", f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert len(run["data"]["params"]) == 8
    for worker in range(8):
        history = ok(
            rest(
                hub_server,
                "GET",
                f"{API}/metrics/get-history",
                params={"run_id": run_id, "metric_key": f"w{worker}"},
            )
        )
        assert len(history["metrics"]) == 200
    search = ok(rest(hub_server, "POST", f"{API}/experiments/search", json={}))["experiments"]
    assert [e["name"] for e in search].count("vision/race") == 1


def test_the_promotion_gate_holds_for_mlflow_clients(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["ana"])
    client = MlflowClient(tracking_uri=hub_server.url)
    run_id = new_run(hub_server, team["ana"])
    client.create_registered_model("vision.detector", description="finds defects")
    rules = {"protected": ["production"], "approvals": 1, "checks": []}
    as_person(hub_server, team["mia"], POLICY, {"p": "vision", "m": "detector", "policy": rules})
    version = client.create_model_version("vision.detector", f"runs:/{run_id}/model", run_id=run_id)
    assert (version.version, version.status) == ("1", "READY")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["mia"])
    with pytest.raises(MlflowException) as refused_move:
        client.set_registered_model_alias("vision.detector", "production", "1")
    assert refused_move.value.error_code == "PERMISSION_DENIED", refused_move.value.message
    assert "approval" in refused_move.value.message
    client.set_registered_model_alias("vision.detector", "candidate", "1")
    assert client.get_registered_model("vision.detector").aliases == {"candidate": "1"}
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["otto"])
    with pytest.raises(MlflowException) as hidden:
        client.get_registered_model("vision.detector")
    assert hidden.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["ana"])
    other = new_run(hub_server, team["ana"], experiment="elsewhere")
    asyncio.run(access.grant_role(hub_server.store, SYSTEM, "mlflow", "user", "ana", "editor"))
    with pytest.raises(MlflowException) as wrong_project:
        client.create_model_version("vision.detector", f"runs:/{other}/model", run_id=other)
    assert "is in project mlflow, but model 'vision.detector' is in vision" in (
        wrong_project.value.message
    )


def test_deleting_and_restoring_runs_and_experiments_go_through_the_trash(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["ana"])
    client = MlflowClient(tracking_uri=hub_server.url)
    experiment_id = client.create_experiment("vision/cleanup")
    runs = [client.create_run(experiment_id, run_name=f"r{i}").info.run_id for i in range(3)]
    for run_id in runs:
        client.log_metric(run_id, "loss", 0.5, step=1)

    def listed() -> list[str]:
        return sorted(r.info.run_id for r in client.search_runs([experiment_id]))

    client.delete_run(runs[0])
    assert listed() == sorted(runs[1:])
    deleted = client.get_run(runs[0])  # as MLflow shows a deleted run
    assert deleted.info.lifecycle_stage == "deleted" and deleted.data.metrics == {"loss": 0.5}
    entries = graphql_call(hub_server.url, team["ana"], "{ trash { kind label } }")["data"]
    assert entries["trash"] == [{"kind": "RUN", "label": "r0"}]
    client.restore_run(runs[0])
    assert client.get_run(runs[0]).info.lifecycle_stage == "active"
    client.restore_run(runs[1])  # not in the trash: nothing to do, as in MLflow
    assert listed() == sorted(runs)

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["vic"])  # a viewer may not delete
    with pytest.raises(MlflowException, match="needs maintainer"):
        MlflowClient(tracking_uri=hub_server.url).delete_run(runs[1])
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["mia"])
    maintainer = MlflowClient(tracking_uri=hub_server.url)
    maintainer.delete_experiment(experiment_id)
    assert maintainer.get_experiment_by_name("vision/cleanup") is None
    with pytest.raises(MlflowException, match="went to the trash with experiment cleanup"):
        maintainer.restore_run(runs[2])
    with pytest.raises(MlflowException, match="in the trash; restore it"):
        maintainer.create_experiment("vision/cleanup")
    maintainer.restore_experiment(experiment_id)
    assert sorted(r.info.run_id for r in maintainer.search_runs([experiment_id])) == sorted(runs)
    missing = rest(hub_server, "POST", f"{API}/runs/delete", team["mia"], json={"run_id": "nope"})
    refused(missing, 404, "RESOURCE_DOES_NOT_EXIST")


def test_deleting_artifacts_moves_the_files_to_the_trash(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["ana"])
    client = MlflowClient(tracking_uri=hub_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", hub_server.url)
    run = client.create_run(client.create_experiment("vision/files"), run_name="with-files")
    for name in ("notes.txt", "plots/a.png", "plots/b.png"):
        source = tmp_path / name.replace("/", "-")
        source.write_text(name)
        client.log_artifact(run.info.run_id, str(source), name.rpartition("/")[0] or None)
    repo = get_artifact_repository(run.info.artifact_uri)
    repo.delete_artifacts("plots")  # a folder: each of its files gets an entry
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
    labels = graphql_call(hub_server.url, team["ana"], "{ trash { label } }")["data"]["trash"]
    assert sorted(e["label"] for e in labels) == [
        "with-files: plots/plots-a.png",
        "with-files: plots/plots-b.png",
    ]
    path = f"{ARTIFACTS}/0/{run.info.run_id}/artifacts"
    refused(
        rest(hub_server, "DELETE", f"{path}/nothing", team["ana"]), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    refused(
        rest(hub_server, "DELETE", f"{path}/%2E%2E/x", team["ana"]), 400, "INVALID_PARAMETER_VALUE"
    )
    denied = rest(hub_server, "DELETE", f"{path}/notes.txt", team["vic"])
    assert denied.status_code == 403, denied.text
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes.txt"]


def test_deleting_a_registered_model_or_version_moves_it_to_the_trash(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["mia"])
    client = MlflowClient(tracking_uri=hub_server.url)
    run_id = new_run(hub_server, team["mia"])
    client.create_registered_model("vision.sorter")
    for _ in range(2):
        client.create_model_version("vision.sorter", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("vision.sorter", "champion", "1")
    with pytest.raises(MlflowException, match="alias 'champion' points at it"):
        client.delete_model_version("vision.sorter", "1")
    client.delete_model_version("vision.sorter", "2")
    found = client.search_model_versions("name = 'vision.sorter'")
    assert [v.version for v in found] == ["1"]
    client.delete_registered_model("vision.sorter")
    assert [m.name for m in client.search_registered_models()] == []
    trashed = graphql_call(hub_server.url, team["mia"], "{ trash { kind label } }")["data"]
    assert {(e["kind"], e["label"]) for e in trashed["trash"]} == {
        ("MODEL", "sorter"),
        ("MODEL_VERSION", "sorter v2"),
    }


@pytest.fixture(autouse=True)
def _no_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    yield


@pytest.mark.filterwarnings("ignore:.*stages.*:FutureWarning")
def test_who_may_rename_tag_and_move_stages(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def client_of(person: str) -> MlflowClient:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team[person])
        return MlflowClient(tracking_uri=hub_server.url)

    ana = client_of("ana")
    experiment = ana.create_experiment("vision/tidy", tags={"team": "cv"})
    run = ana.create_run(experiment, run_name="r")
    ana.create_registered_model("vision.ranker")
    ana.create_model_version("vision.ranker", f"runs:/{run.info.run_id}/m", run.info.run_id)
    vic = client_of("vic")
    for call in (
        lambda: vic.set_experiment_tag(experiment, "team", "nlp"),
        lambda: vic.delete_experiment_tag(experiment, "team"),
        lambda: vic.rename_experiment(experiment, "vision/mine"),
        lambda: vic.update_run(run.info.run_id, name="mine"),
        lambda: vic.delete_tag(run.info.run_id, "mlflow.runName"),
        lambda: vic.transition_model_version_stage("vision.ranker", "1", "Staging"),
    ):
        with pytest.raises(MlflowException) as refused_call:
            call()
        assert refused_call.value.error_code == "PERMISSION_DENIED"
    otto = client_of("otto")
    with pytest.raises(MlflowException) as hidden:
        otto.rename_experiment(experiment, "vision/x")
    assert hidden.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    ana = client_of("ana")  # renaming a model is for maintainers: URIs by its name break
    with pytest.raises(MlflowException) as editor:
        ana.rename_registered_model("vision.ranker", "vision.sorter")
    assert editor.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException, match="stays in its project"):
        client_of("mia").rename_registered_model("vision.ranker", "other.sorter")
    with pytest.raises(MlflowException, match="stays in its project"):
        client_of("mia").rename_experiment(experiment, "other/tidy")
    client_of("mia").rename_registered_model("vision.ranker", "vision.sorter")
    assert client_of("vic").get_experiment(experiment).tags["team"] == "cv"
    events = [
        e.action
        for e in asyncio.run(hub_server.store.audit.search(AuditQuery(), limit=500))
        if e.action.startswith(("experiment.", "model.rename"))
    ]
    assert {"experiment.set_tags", "model.rename"} <= set(events)


def test_a_registered_model_is_the_first_thing_made_on_a_fresh_hub(
    hub_server: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its project (the MLflow project, for a name without one) is made with it, as an
    experiment's is."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", hub_server.token)
    client = MlflowClient(tracking_uri=hub_server.url)
    made = client.create_registered_model("first", tags={"team": "cv"})
    assert made.name == "first" and made.tags == {"team": "cv"}
    assert [m.name for m in client.search_registered_models("tags.team = 'cv'")] == ["first"]


def test_experiment_tags_and_renamed_runs_show_in_graphql(
    hub_server: LiveHub, team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", team["ana"])
    client = MlflowClient(tracking_uri=hub_server.url)
    experiment = client.create_experiment("vision/tagged", tags={"team": "cv"})
    run = client.create_run(experiment, run_name="before")
    renamed = graphql_call(
        hub_server.url,
        team["ana"],
        'mutation($id: ID!) { renameRun(runId: $id, name: "after") { __typename '
        "... on Run { name } ... on Error { message } } }",
        {"id": run.info.run_id},
    )["data"]["renameRun"]
    assert renamed == {"__typename": "Run", "name": "after"}
    assert client.get_run(run.info.run_id).info.run_name == "after"
    empty = graphql_call(
        hub_server.url,
        team["ana"],
        'mutation($id: ID!) { renameRun(runId: $id, name: "  ") { __typename '
        "... on Error { message } } }",
        {"id": run.info.run_id},
    )["data"]["renameRun"]
    assert empty["__typename"] == "ValidationError" and "must not be empty" in empty["message"]
    found = graphql_call(
        hub_server.url,
        team["vic"],
        '{ project(name: "vision") { experiments { name tags { key value } } } }',
    )["data"]["project"]["experiments"]
    assert {"name": "tagged", "tags": [{"key": "team", "value": "cv"}]} in found
