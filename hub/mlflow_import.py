"""``salon import mlflow``: copy an MLflow installation into Salon through the hub.

The source is read with MLflow's own client (``connectors.mlflow``); everything is written
through the hub's MLflow endpoints with a Salon token, so it is checked, audited and announced
like any other logging. Each imported run carries the tag ``salon.import.mlflow_run_id`` and is
marked ``salon.import.complete`` last, so running the import again skips what is done and
finishes what an interruption left half-done: params and tags are set again to the same values,
points the hub already holds are skipped, artifacts are stored once by content.
"""

from __future__ import annotations

import dataclasses
import tempfile
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from connectors.mlflow import MlflowSource, Model, Run
from hub.http.mlflow.protocol import double

RUN_TAG = "salon.import.mlflow_run_id"
DONE_TAG = "salon.import.complete"
SOURCE_TAG = "salon.import.source"
VERSION_TAG = "salon.import.mlflow_version"
BATCH, SMALL_BATCH = 1000, 100


class ImportFailed(Exception):
    """The hub refused something the import cannot go on without."""


@dataclasses.dataclass
class Summary:
    """What was imported, and what was skipped and why."""

    experiments: int = 0
    runs: int = 0
    runs_already_there: int = 0
    points: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    models: int = 0
    versions: int = 0
    versions_already_there: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)

    def lines(self) -> list[str]:
        found = [
            f"experiments: {self.experiments}",
            f"runs: {self.runs} imported, {self.runs_already_there} already there",
            f"metric points: {self.points:,}",
            f"artifacts: {self.artifacts} files, {self.artifact_bytes:,} bytes",
            f"registered models: {self.models}, versions: {self.versions} imported, "
            f"{self.versions_already_there} already there",
        ]
        if self.skipped:
            found.append("skipped:")
            found += [f"  {count}: {why}" for why, count in sorted(self.skipped.items())]
        return found


def safe_source(address: str) -> str:
    """The source's address without user names or passwords, to record on imported runs."""
    parts = urllib.parse.urlsplit(address)
    if parts.username or parts.password:
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=host)
    return urllib.parse.urlunsplit(parts)


class Hub:
    """The hub's MLflow endpoints, as the importer writes to them."""

    def __init__(self, url: str, token: str) -> None:
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
        raise ImportFailed(f"{method} {path}: {error.get('message', error)}")

    def experiment(self, name: str) -> str:
        found = self.call("GET", "mlflow/experiments/get-by-name", ("RESOURCE_DOES_NOT_EXIST",),
                          params={"experiment_name": name})  # fmt: skip
        if found is None:
            made = self.call("POST", "mlflow/experiments/create", ("RESOURCE_ALREADY_EXISTS",),
                             json={"name": name})  # fmt: skip
            if made is not None:
                return str(made["experiment_id"])
            return self.experiment(name)
        return str(found["experiment"]["experiment_id"])

    def imported(self, experiment_id: str) -> dict[str, tuple[str, bool]]:
        """Source run id → (hub run id, complete) of runs imported into the experiment."""
        found: dict[str, tuple[str, bool]] = {}
        token = None
        while True:
            page = self.call("POST", "mlflow/runs/search", json={
                "experiment_ids": [experiment_id], "filter": f"tags.`{RUN_TAG}` LIKE '%'",
                "max_results": 50_000, **({"page_token": token} if token else {})})  # fmt: skip
            for run in page.get("runs", []):
                tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
                found[tags[RUN_TAG]] = (run["info"]["run_id"], tags.get(DONE_TAG) == "true")
            token = page.get("next_page_token")
            if not token:
                return found

    def log_batch(self, run_id: str, params: list[dict[str, Any]] | None = None,
                  tags: list[dict[str, Any]] | None = None,
                  metrics: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
        """Params, tags and metrics in as few log-batch calls as MLflow's limits allow."""
        params, tags, metrics = list(params or []), list(tags or []), list(metrics or [])
        while params or tags or metrics:
            some_params, params = params[:SMALL_BATCH], params[SMALL_BATCH:]
            some_tags, tags = tags[:SMALL_BATCH], tags[SMALL_BATCH:]
            room = BATCH - len(some_params) - len(some_tags)
            some_metrics, metrics = metrics[:room], metrics[room:]
            self.call("POST", "mlflow/runs/log-batch", json={
                "run_id": run_id, "params": some_params, "tags": some_tags,
                "metrics": some_metrics})  # fmt: skip

    def close(self) -> None:
        self.http.close()


def _pairs(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in values.items()]


class Importer:
    """One import: from ``source`` into the hub, experiments named into ``project`` (or the
    hub's MLflow project when ``None``)."""

    def __init__(self, source: MlflowSource, hub: Hub, project: str | None,
                 step: Callable[[str], None] = lambda _: None) -> None:  # fmt: skip
        self.source, self.hub, self.project, self.step = source, hub, project, step
        self.summary = Summary()
        self.run_ids: dict[str, str] = {}  # source run id → hub run id

    def _name(self, name: str, separator: str) -> str:
        return name if self.project is None else f"{self.project}{separator}{name}"

    def plan(self) -> list[tuple[str, str, list[Run]]]:
        """(source experiment id, its name, its runs) for every experiment to import."""
        found = []
        for experiment in self.source.experiments():
            if experiment.deleted:
                self.summary.skipped["experiment deleted in MLflow"] += 1
                continue
            runs = list(self.source.runs(experiment.id))
            if runs or experiment.name != "Default":
                found.append((experiment.id, experiment.name, runs))
        return found

    def run(self, plan: list[tuple[str, str, list[Run]]]) -> Summary:
        parents: list[tuple[str, str]] = []
        for _, name, runs in plan:
            experiment_id = self.hub.experiment(self._name(name, "/"))
            self.summary.experiments += 1
            done = self.hub.imported(experiment_id)
            for run in runs:
                self.step(run.name)
                before = done.get(run.id)
                if before is not None and before[1]:
                    self.run_ids[run.id] = before[0]
                    self.summary.runs_already_there += 1
                    continue
                run_id = before[0] if before else self._create(experiment_id, run)
                self.run_ids[run.id] = run_id
                parent = run.tags.get("mlflow.parentRunId")
                waits = bool(parent) and parent not in self.run_ids
                if waits:
                    parents.append((run_id, str(parent)))
                self._fill(run_id, experiment_id, run, done=not waits)
                self.summary.runs += 1
        for run_id, parent in parents:  # runs that started before their parent
            tags = {"mlflow.parentRunId": self.run_ids.get(parent, parent), DONE_TAG: "true"}
            self.hub.log_batch(run_id, tags=_pairs(tags))
        for model in self.source.models():
            self._model(model)
        return self.summary

    def _create(self, experiment_id: str, run: Run) -> str:
        tags = {k: v for k, v in run.tags.items() if k != "mlflow.parentRunId"}
        tags.update({RUN_TAG: run.id, SOURCE_TAG: safe_source(self.source.address)})
        made = self.hub.call("POST", "mlflow/runs/create", json={
            "experiment_id": experiment_id, "run_name": run.name, "start_time": run.start_time,
            "tags": _pairs(dict(list(tags.items())[:SMALL_BATCH]))})  # fmt: skip
        return str(made["run"]["info"]["run_id"])

    def _fill(self, run_id: str, experiment_id: str, run: Run, done: bool) -> None:
        """Everything of the run; marked complete last (``done``) unless it waits for its
        parent run to be imported."""
        tags = dict(run.tags)
        parent = tags.pop("mlflow.parentRunId", None)
        if parent in self.run_ids:
            tags["mlflow.parentRunId"] = self.run_ids[parent]
        points = [point for key in run.metric_keys for point in self.source.history(run.id, key)]
        self.hub.log_batch(run_id, _pairs(run.params), _pairs(tags), [
            {"key": p.key, "value": double(p.value), "timestamp": p.timestamp, "step": p.step}
            for p in points])  # fmt: skip
        self.summary.points += len(points)
        self._artifacts(run_id, experiment_id, run)
        status = run.status if run.status in ("FINISHED", "FAILED", "KILLED") else None
        if status:
            self.hub.call("POST", "mlflow/runs/update", json={
                "run_id": run_id, "status": status, "end_time": run.end_time})  # fmt: skip
        elif run.status != "RUNNING":
            self.summary.skipped[f"run status {run.status} (kept as running)"] += 1
        if done:
            self.hub.log_batch(run_id, tags=_pairs({DONE_TAG: "true"}))

    def _artifacts(self, run_id: str, experiment_id: str, run: Run) -> None:
        try:
            files = list(self.source.artifacts(run.id))
        except Exception as exc:
            self.summary.skipped[f"artifacts of a run that could not be listed ({exc})"] += 1
            return
        with tempfile.TemporaryDirectory() as folder:
            for path, _ in files:
                local = self.source.download(run.id, path, Path(folder))
                where = f"{experiment_id}/{run_id}/artifacts/{urllib.parse.quote(path)}"
                with local.open("rb") as handle:
                    self.hub.call("PUT", f"mlflow-artifacts/artifacts/{where}", content=handle)
                self.summary.artifacts += 1
                self.summary.artifact_bytes += local.stat().st_size
                local.unlink()

    def _model(self, model: Model) -> None:
        name = self._name(model.name, ".")
        made = self.hub.call("POST", "mlflow/registered-models/create",
                             ("RESOURCE_ALREADY_EXISTS",),
                             json={"name": name, "description": model.description,
                                   "tags": _pairs(model.tags)})  # fmt: skip
        self.summary.models += made is not None
        existing = self.hub.call("GET", "mlflow/model-versions/search",
                                 params={"filter": f"name = '{name}'"})  # fmt: skip
        numbers = {
            tags[VERSION_TAG]: v["version"]
            for v in existing.get("model_versions", [])
            if VERSION_TAG in (tags := {t["key"]: t["value"] for t in v.get("tags", [])})
        }
        for version in model.versions:
            key = f"{model.name}/{version.version}"
            if key in numbers:
                self.summary.versions_already_there += 1
            elif version.run_id is None or version.run_id not in self.run_ids:
                self.summary.skipped["model version whose run was not imported"] += 1
                continue
            else:
                made = self.hub.call("POST", "mlflow/model-versions/create", json={
                    "name": name, "source": version.source,
                    "run_id": self.run_ids[version.run_id], "description": version.description,
                    "tags": _pairs({**version.tags, VERSION_TAG: key})})  # fmt: skip
                numbers[key] = made["model_version"]["version"]
                self.summary.versions += 1
            for alias in version.aliases:
                moved = self.hub.call(
                    "POST", "mlflow/registered-models/alias", ("PERMISSION_DENIED",),
                    json={"name": name, "alias": alias, "version": numbers[key]},
                )  # fmt: skip
                if moved is None:
                    self.summary.skipped["alias refused by the model's promotion gate"] += 1


def runs_in(plan: list[tuple[str, str, list[Run]]]) -> Iterator[Run]:
    for _, _, runs in plan:
        yield from runs
