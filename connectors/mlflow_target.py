"""An MLflow store as the target of ``salon export mlflow``: written through MLflow's own
client, so that MLflow reads the copy alone (the source side is ``connectors.mlflow``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError
from connectors.mlflow import (
    DONE_TAG,
    MODEL_TAG,
    PAGE,
    RUN_TAG,
    VERSION_TAG,
    DatasetUse,
    LoggedModel,
    Point,
    Run,
    RunCounts,
    called,
    client_for,
    every_logged_model,
    tracking_uri,
)


class MlflowTarget:
    """An MLflow store written through MLflow's client: where ``salon export mlflow`` copies
    a project to (``hub.cli.mlflow_copy.Target``)."""

    def __init__(self, address: str) -> None:
        self.address = tracking_uri(address)
        if "://" not in self.address:
            Path(address).mkdir(parents=True, exist_ok=True)
            self.address = Path(address).resolve().as_uri()
        self._client = client_for(self.address)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return called(self.address, what, fn, *args, **kwargs)

    def experiment_id(self, name: str) -> str | None:
        found = self._call("find an experiment", self._client.get_experiment_by_name, name)
        return None if found is None else str(found.experiment_id)

    def experiment(self, name: str) -> str:
        found = self.experiment_id(name)
        if found is not None:
            return found
        return str(self._call("create an experiment", self._client.create_experiment, name))

    def copied(self, experiment_id: str) -> dict[str, tuple[str, bool]]:
        found = {}
        token = None
        while True:
            wanted = f"tags.`{RUN_TAG}` LIKE '%'"
            page = self._call(
                "list runs",
                self._client.search_runs,
                [experiment_id],
                wanted,
                max_results=PAGE,
                page_token=token,
            )
            for run in page:
                tags = run.data.tags
                found[tags[RUN_TAG]] = (run.info.run_id, tags.get(DONE_TAG) == "true")
            token = page.token
            if not token:
                return found

    def create_run(self, experiment_id: str, run: Run, tags: dict[str, str]) -> str:
        made = self._call(
            "create a run",
            self._client.create_run,
            experiment_id,
            start_time=run.start_time,
            tags=tags,
            run_name=run.name,
        )
        return str(made.info.run_id)

    def log_batch(
        self, run_id: str, params: dict[str, str], tags: dict[str, str], points: list[Point]
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self._call(
            "log a batch",
            self._client.log_batch,
            run_id,
            metrics=[
                Metric(p.key, p.value, p.timestamp, p.step, model_id=p.model_id) for p in points
            ],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )

    def log_inputs(self, run_id: str, datasets: list[DatasetUse], models: list[str]) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput

        used = [
            DatasetInput(
                Dataset(
                    d.name, d.digest, d.source_type, d.source, d.schema or None, d.profile or None
                ),
                [InputTag(k, v) for k, v in d.tags.items()],
            )
            for d in datasets
        ]
        read = [LoggedModelInput(m) for m in models]
        self._call("log inputs", self._client.log_inputs, run_id, datasets=used, models=read)

    def log_outputs(self, run_id: str, models: list[tuple[str, int]]) -> None:
        from mlflow.entities import LoggedModelOutput

        made = [LoggedModelOutput(m, s) for m, s in models]
        self._call("log outputs", self._client.log_outputs, run_id, made)

    def finish(self, run_id: str, status: str, end_time: int | None) -> None:
        self._call("end a run", self._client.set_terminated, run_id, status, end_time)

    def upload(self, experiment_id: str, run_id: str, path: str, local: Path) -> None:
        folder = path.rsplit("/", 1)[0] if "/" in path else None
        named = local.with_name(path.rsplit("/", 1)[-1])
        if named != local:
            local.rename(named)
        try:
            self._call("store an artifact", self._client.log_artifact, run_id, str(named), folder)
        finally:
            if named != local:
                named.rename(local)

    def create_model(self, name: str, description: str, tags: dict[str, str]) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self._client.create_registered_model(name, tags=tags, description=description)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_ALREADY_EXISTS":
                return False
            raise ConnectorError(
                f"MLflow at {self.address} failed to create model {name}: {exc}"
            ) from exc
        return True

    def copied_versions(self, name: str) -> dict[str, str]:
        escaped = name.replace("'", "\\'")
        found = self._call(
            "list model versions", self._client.search_model_versions, f"name = '{escaped}'"
        )
        return {v.tags[VERSION_TAG]: str(v.version) for v in found if VERSION_TAG in v.tags}

    def alias_count(self, name: str) -> int | None:
        """How many aliases the registered model has there (None: there is no such model)."""
        from mlflow.exceptions import MlflowException

        try:
            model = self._client.get_registered_model(name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise ConnectorError(
                f"MLflow at {self.address} failed to read model {name}: {exc}"
            ) from exc
        return len(model.aliases)

    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        description: str,
        tags: dict[str, str],
        model_id: str | None = None,
    ) -> str:
        # MLflow resolves a runs:/ source through the process's tracking URI (by default a
        # mlflow.db in the working directory); here the run is the target's.
        before = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = self.address
        try:
            made = self._call(
                "create a model version",
                self._client.create_model_version,
                name,
                source,
                run_id,
                tags=tags,
                description=description,
                model_id=model_id,
            )
        finally:
            if before is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = before
        return str(made.version)

    def set_alias(self, name: str, alias: str, version: str) -> bool:
        self._call("set an alias", self._client.set_registered_model_alias, name, alias, version)
        return True

    def read_back(self, run_ids: list[str]) -> dict[str, RunCounts]:
        """What each copied run holds here (runs not found are left out)."""
        found = {}
        for run_id in run_ids:
            run = self._call("read a run", self._client.get_run, run_id)
            points = sum(
                len(self._call("read a history", self._client.get_metric_history, run_id, key))
                for key in run.data.metrics
            )
            files = list(self._files(run_id, None))
            found[run_id] = RunCounts(
                len(run.data.params),
                frozenset(run.data.tags),
                points,
                len(files),
                sum(files),
            )
        return found

    def _files(self, run_id: str, path: str | None) -> Iterator[int]:
        for item in self._call("list artifacts", self._client.list_artifacts, run_id, path):
            if item.is_dir:
                yield from self._files(run_id, item.path)
            else:
                yield int(item.file_size or 0)

    def copied_models(self, experiment_id: str) -> dict[str, tuple[str, bool]]:
        """Source logged model id → (its copy's id, complete) in the experiment."""
        found: dict[str, tuple[str, bool]] = {}
        for m in every_logged_model(self._call, self._client, experiment_id):
            tags = dict(m.tags or {})
            if MODEL_TAG in tags:
                found[tags[MODEL_TAG]] = (m.model_id, tags.get(DONE_TAG) == "true")
        return found

    def create_logged_model(
        self, experiment_id: str, model: LoggedModel, run_id: str | None
    ) -> str:
        made = self._call(
            "create a logged model",
            self._client.create_logged_model,
            experiment_id,
            name=model.name,
            source_run_id=run_id,
            tags={**model.tags, MODEL_TAG: model.id},
            params=model.params or None,
            model_type=model.model_type or None,
        )
        return str(made.model_id)

    def upload_model_file(self, experiment_id: str, model_id: str, path: str, local: Path) -> None:
        folder = path.rsplit("/", 1)[0] if "/" in path else None
        named = local.with_name(path.rsplit("/", 1)[-1])
        if named != local:
            local.rename(named)
        try:
            self._call(
                "store a model file", self._client.log_model_artifact, model_id, str(named), folder
            )
        finally:
            if named != local:
                named.rename(local)

    def finish_logged_model(self, model_id: str) -> None:
        from mlflow.entities import LoggedModelStatus

        self._call(
            "finish a logged model",
            self._client.finalize_logged_model,
            model_id,
            LoggedModelStatus.READY,
        )
        self._call(
            "mark a logged model copied",
            self._client.set_logged_model_tags,
            model_id,
            {DONE_TAG: "true"},
        )
