"""The hub as the target of ``salon import mlflow``: its MLflow endpoints, written to with a
Salon token, so that everything copied is checked, audited and announced like any other
logging (the copy itself is ``hub.cli.mlflow_copy``)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from connectors.mlflow import (
    DONE_TAG,
    MODEL_TAG,
    RUN_TAG,
    VERSION_TAG,
    DatasetUse,
    LoggedModel,
    Point,
    Run,
    RunCounts,
    double,
)
from hub.cli.mlflow_copy import BATCH, SMALL_BATCH, CopyFailed


class HubTarget:
    """The hub's MLflow endpoints, written to with a Salon token (import)."""

    def __init__(self, url: str, token: str) -> None:
        self.graphql_url = url.rstrip("/") + "/graphql"
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api/2.0",
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        )

    def call(self, method: str, path: str, ok: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """The JSON answer; an MLflow error code listed in ``ok`` comes back as ``None``."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code == 200:
            return response.json() if response.content else {}
        try:
            error = response.json()
        except ValueError:
            error = {"error_code": str(response.status_code), "message": response.text[:300]}
        if error.get("error_code") in ok:
            return None
        raise CopyFailed(f"{method} {path}: {error.get('message', error)}")

    def experiment_id(self, name: str) -> str | None:
        """The id of the experiment called ``name`` here, None when there is none."""
        found = self.call(
            "GET",
            "mlflow/experiments/get-by-name",
            ("RESOURCE_DOES_NOT_EXIST",),
            params={"experiment_name": name},
        )
        return None if found is None else str(found["experiment"]["experiment_id"])

    def experiment(self, name: str) -> str:
        found = self.experiment_id(name)
        if found is None:
            made = self.call(
                "POST",
                "mlflow/experiments/create",
                ("RESOURCE_ALREADY_EXISTS",),
                json={"name": name},
            )
            if made is not None:
                return str(made["experiment_id"])
            return self.experiment(name)
        return found

    def copied(self, experiment_id: str) -> dict[str, tuple[str, bool]]:
        """Source run id → (run id here, complete) of runs copied into the experiment."""
        found: dict[str, tuple[str, bool]] = {}
        token = None
        while True:
            page = self.call(
                "POST",
                "mlflow/runs/search",
                json={
                    "experiment_ids": [experiment_id],
                    "filter": f"tags.`{RUN_TAG}` LIKE '%'",
                    "max_results": 50_000,
                    **({"page_token": token} if token else {}),
                },
            )
            for run in page.get("runs", []):
                tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
                found[tags[RUN_TAG]] = (run["info"]["run_id"], tags.get(DONE_TAG) == "true")
            token = page.get("next_page_token")
            if not token:
                return found

    def create_run(self, experiment_id: str, run: Run, tags: dict[str, str]) -> str:
        made = self.call(
            "POST",
            "mlflow/runs/create",
            json={
                "experiment_id": experiment_id,
                "run_name": run.name,
                "start_time": run.start_time,
                "tags": _pairs(dict(list(tags.items())[:SMALL_BATCH])),
            },
        )
        return str(made["run"]["info"]["run_id"])

    def log_batch(
        self, run_id: str, params: dict[str, str], tags: dict[str, str], points: list[Point]
    ) -> None:
        """Params, tags and points in as few log-batch calls as MLflow's limits allow."""
        some = [
            _pairs(params),
            _pairs(tags),
            [
                {
                    "key": p.key,
                    "value": double(p.value),
                    "timestamp": p.timestamp,
                    "step": p.step,
                    **({"model_id": p.model_id} if p.model_id else {}),
                }
                for p in points
            ],
        ]
        while any(some):
            params_now, some[0] = some[0][:SMALL_BATCH], some[0][SMALL_BATCH:]
            tags_now, some[1] = some[1][:SMALL_BATCH], some[1][SMALL_BATCH:]
            room = BATCH - len(params_now) - len(tags_now)
            metrics_now, some[2] = some[2][:room], some[2][room:]
            self.call(
                "POST",
                "mlflow/runs/log-batch",
                json={
                    "run_id": run_id,
                    "params": params_now,
                    "tags": tags_now,
                    "metrics": metrics_now,
                },
            )

    def finish(self, run_id: str, status: str, end_time: int | None) -> None:
        self.call(
            "POST",
            "mlflow/runs/update",
            json={"run_id": run_id, "status": status, "end_time": end_time},
        )

    def upload(self, experiment_id: str, run_id: str, path: str, local: Path) -> None:
        where = f"{experiment_id}/{run_id}/artifacts/{urllib.parse.quote(path)}"
        with local.open("rb") as handle:
            self.call("PUT", f"mlflow-artifacts/artifacts/{where}", content=handle)

    def create_model(self, name: str, description: str, tags: dict[str, str]) -> bool:
        """Whether it was made (False: it was there)."""
        wanted = {"name": name, "description": description, "tags": _pairs(tags)}
        made = self.call(
            "POST", "mlflow/registered-models/create", ("RESOURCE_ALREADY_EXISTS",), json=wanted
        )
        return made is not None

    def copied_versions(self, name: str) -> dict[str, str]:
        """Source version key → version number here, of the versions copied into the model."""
        found = self.call(
            "GET", "mlflow/model-versions/search", params={"filter": f"name = '{name}'"}
        )
        return {
            tags[VERSION_TAG]: str(v["version"])
            for v in found.get("model_versions", [])
            if VERSION_TAG in (tags := {t["key"]: t["value"] for t in v.get("tags", [])})
        }

    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        description: str,
        tags: dict[str, str],
        model_id: str | None = None,
    ) -> str:
        made = self.call(
            "POST",
            "mlflow/model-versions/create",
            json={
                "name": name,
                "source": source,
                **({"run_id": run_id} if run_id else {}),
                "description": description,
                "tags": _pairs(tags),
                **({"model_id": model_id} if model_id else {}),
            },
        )
        return str(made["model_version"]["version"])

    def read_back(self, run_ids: list[str]) -> dict[str, RunCounts]:
        """What each copied run holds on the hub, a hundred runs per GraphQL request."""
        fields = "params { key } tags { key } metrics { pointCount } artifacts { size }"
        found: dict[str, RunCounts] = {}
        for start in range(0, len(run_ids), SMALL_BATCH):
            chunk = run_ids[start : start + SMALL_BATCH]
            query = " ".join(
                f"r{index}: run(id: {json.dumps(run_id)}) {{ ... on Run {{ {fields} }} }}"
                for index, run_id in enumerate(chunk)
            )
            answer = self.http.post(self.graphql_url, json={"query": f"{{ {query} }}"})
            if answer.status_code != 200 or answer.json().get("errors"):
                raise CopyFailed(f"Reading the copied runs back failed: {answer.text[:300]}")
            data = answer.json()["data"]
            for index, run_id in enumerate(chunk):
                run = data.get(f"r{index}")
                if run:
                    found[run_id] = RunCounts(
                        len(run["params"]),
                        frozenset(t["key"] for t in run["tags"]),
                        sum(m["pointCount"] for m in run["metrics"]),
                        len(run["artifacts"]),
                        sum(a["size"] for a in run["artifacts"]),
                    )
        return found

    def copied_models(self, experiment_id: str) -> dict[str, tuple[str, bool]]:
        """Source logged model id → (its copy's id here, complete) in the experiment."""
        found: dict[str, tuple[str, bool]] = {}
        token = None
        while True:
            page = self.call(
                "POST",
                "mlflow/logged-models/search",
                json={
                    "experiment_ids": [experiment_id],
                    "max_results": 1000,
                    **({"page_token": token} if token else {}),
                },
            )
            for model in page.get("models", []):
                tags = {t["key"]: t["value"] for t in model["info"].get("tags", [])}
                if MODEL_TAG in tags:
                    found[tags[MODEL_TAG]] = (model["info"]["model_id"], DONE_TAG in tags)
            token = page.get("next_page_token")
            if not token:
                return found

    def create_logged_model(
        self, experiment_id: str, model: LoggedModel, run_id: str | None
    ) -> str:
        made = self.call(
            "POST",
            "mlflow/logged-models",
            json={
                "experiment_id": experiment_id,
                "name": model.name,
                "model_type": model.model_type,
                **({"source_run_id": run_id} if run_id else {}),
                "params": _pairs(model.params),
                "tags": _pairs({**model.tags, MODEL_TAG: model.id}),
            },
        )
        return str(made["model"]["info"]["model_id"])

    def upload_model_file(self, experiment_id: str, model_id: str, path: str, local: Path) -> None:
        where = f"{experiment_id}/models/{model_id}/artifacts/{urllib.parse.quote(path)}"
        with local.open("rb") as handle:
            self.call("PUT", f"mlflow-artifacts/artifacts/{where}", content=handle)

    def finish_logged_model(self, model_id: str) -> None:
        self.call(
            "PATCH", f"mlflow/logged-models/{model_id}", json={"status": "LOGGED_MODEL_READY"}
        )
        self.call(
            "PATCH",
            f"mlflow/logged-models/{model_id}/tags",
            json={"tags": _pairs({DONE_TAG: "true"})},
        )

    def log_inputs(self, run_id: str, datasets: list[DatasetUse], models: list[str]) -> None:
        self.call(
            "POST",
            "mlflow/runs/log-inputs",
            json={
                "run_id": run_id,
                "datasets": [
                    {
                        "dataset": {
                            "name": d.name,
                            "digest": d.digest,
                            "source_type": d.source_type,
                            "source": d.source,
                            "schema": d.schema,
                            "profile": d.profile,
                        },
                        "tags": _pairs(d.tags),
                    }
                    for d in datasets
                ],
                "models": [{"model_id": m} for m in models],
            },
        )

    def log_outputs(self, run_id: str, models: list[tuple[str, int]]) -> None:
        self.call(
            "POST",
            "mlflow/runs/outputs",
            json={"run_id": run_id, "models": [{"model_id": m, "step": s} for m, s in models]},
        )

    def alias_count(self, name: str) -> int | None:
        """How many aliases the registered model has here (None: there is no such model)."""
        found = self.call(
            "GET",
            "mlflow/registered-models/get",
            ("RESOURCE_DOES_NOT_EXIST",),
            params={"name": name},
        )
        return None if found is None else len(found["registered_model"].get("aliases", []))

    def set_alias(self, name: str, alias: str, version: str) -> bool:
        """Whether it moved (False: the model's promotion gate refused it)."""
        moved = self.call(
            "POST",
            "mlflow/registered-models/alias",
            ("PERMISSION_DENIED",),
            json={"name": name, "alias": alias, "version": version},
        )
        return moved is not None

    def close(self) -> None:
        self.http.close()


def _pairs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]
