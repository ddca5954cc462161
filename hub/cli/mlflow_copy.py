"""``salon import mlflow`` and ``salon export mlflow``: copy runs and registered models from
one MLflow-speaking place to another.

The source is read with MLflow's own client (``connectors.mlflow``): an MLflow installation
on import, the hub itself on export (it speaks MLflow's API). The target is the hub's MLflow
endpoints on import (:class:`HubTarget`, with a Salon token, so everything is checked, audited
and announced like any other logging) or any MLflow store on export
(``connectors.mlflow_target.MlflowTarget``). Each copied run carries the tag
``salon.copy.source_run_id`` and is marked ``salon.copy.complete`` last, so copying again skips
what is done and finishes what an interruption left half-done: params and tags are set again to
the same values, points already there are skipped, artifacts are overwritten.
"""

from __future__ import annotations

import dataclasses
import tempfile
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from connectors.base import ConnectorError
from connectors.mlflow import (
    DONE_TAG,
    RUN_TAG,
    SOURCE_TAG,
    VERSION_TAG,
    DatasetUse,
    LoggedModel,
    MlflowSource,
    Model,
    Point,
    Run,
    RunCounts,
)

BATCH, SMALL_BATCH = 1000, 100


class CopyFailed(Exception):
    """The target refused something the copy cannot go on without."""


class Target(Protocol):
    """Where a copy writes: the hub (import) or an MLflow store (export)."""

    def experiment(self, name: str) -> str: ...
    def experiment_id(self, name: str) -> str | None: ...
    def copied(self, experiment_id: str) -> dict[str, tuple[str, bool]]: ...
    def create_run(self, experiment_id: str, run: Run, tags: dict[str, str]) -> str: ...
    def log_batch(
        self, run_id: str, params: dict[str, str], tags: dict[str, str], points: list[Point]
    ) -> None: ...
    def finish(self, run_id: str, status: str, end_time: int | None) -> None: ...
    def upload(self, experiment_id: str, run_id: str, path: str, local: Path) -> None: ...
    def create_model(self, name: str, description: str, tags: dict[str, str]) -> bool: ...
    def copied_versions(self, name: str) -> dict[str, str]: ...
    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        description: str,
        tags: dict[str, str],
        model_id: str | None = None,
    ) -> str: ...
    def set_alias(self, name: str, alias: str, version: str) -> bool: ...
    def copied_models(self, experiment_id: str) -> dict[str, tuple[str, bool]]: ...
    def create_logged_model(
        self, experiment_id: str, model: LoggedModel, run_id: str | None
    ) -> str: ...
    def upload_model_file(
        self, experiment_id: str, model_id: str, path: str, local: Path
    ) -> None: ...
    def finish_logged_model(self, model_id: str) -> None: ...
    def read_back(self, run_ids: list[str]) -> dict[str, RunCounts]: ...
    def alias_count(self, name: str) -> int | None: ...
    def log_inputs(self, run_id: str, datasets: list[DatasetUse], models: list[str]) -> None: ...
    def log_outputs(self, run_id: str, models: list[tuple[str, int]]) -> None: ...


@dataclasses.dataclass
class Summary:
    """What was imported, and what was skipped and why."""

    experiments: int = 0
    runs: int = 0
    runs_already_there: int = 0
    points: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    logged_models: int = 0
    logged_models_already_there: int = 0
    model_metrics: int = 0
    dataset_inputs: int = 0
    models: int = 0
    versions: int = 0
    versions_already_there: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    fidelity: list[tuple[str, int, int]] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        found = [
            f"experiments: {self.experiments}",
            f"runs: {self.runs} copied, {self.runs_already_there} already there",
            f"metric points: {self.points:,}",
            f"dataset inputs: {self.dataset_inputs}",
            f"artifacts: {self.artifacts} files, {self.artifact_bytes:,} bytes",
            f"logged models: {self.logged_models} copied, "
            f"{self.logged_models_already_there} already there, with {self.model_metrics} "
            "metrics",
            f"registered models: {self.models}, versions: {self.versions} copied, "
            f"{self.versions_already_there} already there",
        ]
        if self.skipped:
            found.append("skipped:")
            found += [f"  {count}: {why}" for why, count in sorted(self.skipped.items())]
        if self.fidelity:
            found.append("read back from the copy (what this run copied, then everything):")
            found.append(f"  {'':<22}{'source':>14}{'copy':>14}")
            for what, source, copy in self.fidelity:
                mark = "" if source == copy else "   <- differs"
                found.append(f"  {what:<22}{source:>14,}{copy:>14,}{mark}")
        return found


def safe_source(address: str) -> str:
    """The source's address without user names or passwords, to record on imported runs."""
    parts = urllib.parse.urlsplit(address)
    if parts.username or parts.password:
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=host)
    return urllib.parse.urlunsplit(parts)


def moved_source(
    source: str, old_run: str, new_run: str, models: dict[str, str] | None = None
) -> str:
    """A model version's source, pointing at the copy of its run: ``runs:/<old>/model`` and
    the old run's artifact location (``…/<old>/artifacts/model``, as MLflow 2 wrote it) both
    become ``runs:/<new>/model``, which MLflow resolves at the target; MLflow 3's
    ``models:/m-<old>`` becomes ``models:/<copy's id>`` (``models``: old id → copy's id).
    Other sources (an object store path) are kept as they are."""
    for old, new in (models or {}).items():
        if source == f"models:/{old}" or source.startswith(f"models:/{old}/"):
            return f"models:/{new}{source[len(f'models:/{old}') :]}"
    if not old_run:  # a version without a run: only a logged model's source moves
        return source
    prefix = f"runs:/{old_run}/"
    if source.startswith(prefix):
        return f"runs:/{new_run}/{source[len(prefix) :]}"
    marker = f"/{old_run}/artifacts/"
    if marker in source:
        return f"runs:/{new_run}/{source.split(marker, 1)[1]}"
    return source


def logged_model_of(source: str) -> str:
    """The logged model id a ``models:/m-…`` source names ("" for other sources)."""
    if source.startswith("models:/m-"):
        return source[len("models:/") :].split("/", 1)[0]
    return ""


class Copier:
    """One copy: from ``source`` to ``target``, names put into ``project`` (``project/…``
    for experiments, ``project.…`` for models) when given."""

    def __init__(
        self,
        source: MlflowSource,
        target: Target,
        project: str | None = None,
        step: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.source, self.target, self.project, self.step = source, target, project, step
        self.summary = Summary()
        self.run_ids: dict[str, str] = {}  # source run id → run id at the target
        self.model_ids: dict[str, str] = {}  # source logged model id → its copy's id
        self.expected: dict[str, RunCounts] = {}  # copied run id here → what its source held
        # Everything the copy should leave at the target, whoever copied it (this copy or an
        # earlier one): target experiment id → its name there, source run ids and logged model
        # ids; registered model name here → source version keys and how many aliases.
        self.wanted_experiments: dict[str, str] = {}
        self.wanted_runs: dict[str, list[str]] = {}
        self.wanted_models: dict[str, list[str]] = {}
        self.wanted_versions: dict[str, tuple[list[str], int]] = {}

    def _name(self, name: str, separator: str) -> str:
        return name if self.project is None else f"{self.project}{separator}{name}"

    def plan(self) -> list[tuple[str, str, list[Run]]]:
        """(source experiment id, its name, its runs) for every experiment to copy."""
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
        later: list[tuple[str, Run, bool]] = []  # runs that wait for their logged models
        for source_id, name, runs in plan:
            experiment_id = self.target.experiment(self._name(name, "/"))
            self.summary.experiments += 1
            self.wanted_experiments[experiment_id] = self._name(name, "/")
            self.wanted_runs[experiment_id] = [run.id for run in runs]
            models = self._models_of(source_id)
            # A point logged with a logged model goes with the model's copy (which logs it to
            # its run too), not with the run's history, so that the run holds it once.
            with_models = {
                (run_id, p.key, p.step, p.timestamp, p.value)
                for model in models
                for run_id, p in model.metrics
            }
            done = self.target.copied(experiment_id)
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
                # A run that read or made logged models is complete once they are copied.
                refers = bool(run.model_inputs or run.model_outputs)
                complete = not waits and not refers
                copied = self._fill(run_id, experiment_id, run, with_models, done=complete)
                if refers:
                    later.append((run_id, run, copied and not waits))
                self.summary.runs += 1
            self._logged_models(models, experiment_id)
            for run_id, run, done_now in later:
                self._model_uses(run_id, run, done_now)
            later.clear()
        for run_id, parent in parents:  # runs that started before their parent
            tags = {"mlflow.parentRunId": self.run_ids.get(parent, parent), DONE_TAG: "true"}
            self.target.log_batch(run_id, {}, tags, [])
        for model in self.source.models():
            self._model(model)
        self.summary.fidelity = self._read_back() + self._read_back_whole()
        return self.summary

    def _read_back_whole(self) -> list[tuple[str, int, int]]:
        """Every experiment, run, logged model, registered model, version and alias the copy
        should have left at the target (copied now or before), counted there."""
        complete_runs = complete_models = 0
        for experiment_id, run_ids in self.wanted_runs.items():
            runs = self.target.copied(experiment_id)
            complete_runs += sum(1 for r in run_ids if runs.get(r, ("", False))[1])
            wanted_models = self.wanted_models.get(experiment_id, [])
            if wanted_models:
                models = self.target.copied_models(experiment_id)
                complete_models += sum(1 for m in wanted_models if models.get(m, ("", False))[1])
        registered = versions = aliases = 0
        for name, (keys, _) in self.wanted_versions.items():
            found = self.target.alias_count(name)
            if found is None:
                continue
            registered += 1
            aliases += found
            versions += len(set(keys) & set(self.target.copied_versions(name)))
        experiments = sum(
            1
            for eid, name in self.wanted_experiments.items()
            if self.target.experiment_id(name) == eid
        )
        wanted = self.wanted_versions.values()
        return [
            ("experiments (all)", len(self.wanted_experiments), experiments),
            ("runs (all)", sum(map(len, self.wanted_runs.values())), complete_runs),
            ("logged models", sum(map(len, self.wanted_models.values())), complete_models),
            ("registered models", len(self.wanted_versions), registered),
            ("model versions", sum(len(k) for k, _ in wanted), versions),
            ("aliases", sum(a for _, a in wanted), aliases),
        ]

    def _read_back(self) -> list[tuple[str, int, int]]:
        """The runs this copy wrote, read back from the target and compared with what their
        sources held: params, tags (the source's keys found on the copy), metric points,
        files and bytes."""
        if not self.expected:
            return []
        got = self.target.read_back(list(self.expected))
        empty = RunCounts(0, frozenset(), 0, 0, 0)
        pairs = [(want, got.get(run_id, empty)) for run_id, want in self.expected.items()]
        return [
            ("runs", len(self.expected), len(got)),
            ("params", sum(w.params for w, _ in pairs), sum(g.params for _, g in pairs)),
            (
                "tags",
                sum(len(w.tags) for w, _ in pairs),
                sum(len(w.tags & g.tags) for w, g in pairs),
            ),
            ("metric points", sum(w.points for w, _ in pairs), sum(g.points for _, g in pairs)),
            ("artifact files", sum(w.files for w, _ in pairs), sum(g.files for _, g in pairs)),
            (
                "artifact bytes",
                sum(w.file_bytes for w, _ in pairs),
                sum(g.file_bytes for _, g in pairs),
            ),
        ]

    def _create(self, experiment_id: str, run: Run) -> str:
        tags = {k: v for k, v in run.tags.items() if k != "mlflow.parentRunId"}
        tags.update({RUN_TAG: run.id, SOURCE_TAG: safe_source(self.source.address)})
        return self.target.create_run(experiment_id, run, tags)

    def _fill(
        self,
        run_id: str,
        experiment_id: str,
        run: Run,
        with_models: set[tuple[str | None, str, int, int, float]],
        done: bool,
    ) -> bool:
        """Everything of the run but its logged models' inputs and outputs, and but the points
        ``with_models`` lists (source run, key, step, time, value: they go with the models);
        marked complete last (``done``) unless it waits for its parent run or its models.
        Whether its files could be read."""
        tags = dict(run.tags)
        parent = tags.pop("mlflow.parentRunId", None)
        if parent in self.run_ids:
            tags["mlflow.parentRunId"] = self.run_ids[parent]
        tags.update({RUN_TAG: run.id, SOURCE_TAG: safe_source(self.source.address)})
        points = [point for key in run.metric_keys for point in self.source.history(run.id, key)]
        own = [
            p for p in points if (run.id, p.key, p.step, p.timestamp, p.value) not in with_models
        ]
        self.target.log_batch(run_id, run.params, tags, own)
        self.summary.points += len(points)
        if run.inputs:
            self.target.log_inputs(run_id, list(run.inputs), [])
            self.summary.dataset_inputs += len(run.inputs)
        copied, files, size = self._artifacts(run_id, experiment_id, run)
        self.expected[run_id] = RunCounts(
            len(run.params), frozenset(run.tags), len(points), files, size
        )
        if run.status in ("FINISHED", "FAILED", "KILLED"):
            self.target.finish(run_id, run.status, run.end_time)
        elif run.status != "RUNNING":
            self.summary.skipped[f"run status {run.status} (kept as running)"] += 1
        if done and copied:  # a run whose files could not be read is finished by the next copy
            self.target.log_batch(run_id, {}, {DONE_TAG: "true"}, [])
        return copied

    def _model_uses(self, run_id: str, run: Run, done: bool) -> None:
        """The logged models the run read and made, pointing at their copies; then the run is
        complete (``done``)."""
        found = [self.model_ids.get(m) for m in run.model_inputs]
        made = [(self.model_ids.get(m), step) for m, step in run.model_outputs]
        missing = found.count(None) + sum(1 for m, _ in made if m is None)
        if missing:
            self.summary.skipped["logged model input or output whose model was not copied"] += (
                missing
            )
        if any(found):
            self.target.log_inputs(run_id, [], [m for m in found if m])
        if any(m for m, _ in made):
            self.target.log_outputs(run_id, [(m, s) for m, s in made if m])
        if done:
            self.target.log_batch(run_id, {}, {DONE_TAG: "true"}, [])

    def _artifacts(self, run_id: str, experiment_id: str, run: Run) -> tuple[bool, int, int]:
        """Copy the run's files: whether they could be read (said in the summary when not),
        and how many files and bytes the source holds."""
        try:
            files = list(self.source.artifacts(run.id))
        except ConnectorError as exc:
            why = str(exc).replace(run.id, "…")
            self.summary.skipped[f"artifacts of a run that could not be read: {why}"] += 1
            return False, 0, 0
        with tempfile.TemporaryDirectory() as folder:
            for path, _ in files:
                local = self.source.download(run.id, path, Path(folder))
                self.target.upload(experiment_id, run_id, path, local)
                self.summary.artifacts += 1
                self.summary.artifact_bytes += local.stat().st_size
                local.unlink()
        return True, len(files), sum(size for _, size in files)

    def _models_of(self, source_experiment: str) -> list[LoggedModel]:
        try:
            return list(self.source.logged_models(source_experiment))
        except ConnectorError as exc:
            self.summary.skipped[f"logged models that could not be listed ({exc})"] += 1
            return []

    def _logged_models(self, models: list[LoggedModel], experiment_id: str) -> None:
        """The experiment's logged models with their files and metrics, after its runs (a
        model names the run that wrote it); marked complete last, so an interrupted one is
        finished later."""
        if not models:
            return
        done = self.target.copied_models(experiment_id)
        self.wanted_models[experiment_id] = [model.id for model in models]
        for model in models:
            before = done.get(model.id)
            if before is not None and before[1]:
                self.model_ids[model.id] = before[0]
                self.summary.logged_models_already_there += 1
                continue
            run_id = self.run_ids.get(model.run_id) if model.run_id else None
            model_id = (
                before[0]
                if before
                else self.target.create_logged_model(experiment_id, model, run_id)
            )
            self.model_ids[model.id] = model_id
            try:
                with tempfile.TemporaryDirectory() as folder:
                    for path in self.source.model_files(model):
                        local = self.source.download_model_file(model, path, Path(folder))
                        self.target.upload_model_file(experiment_id, model_id, path, local)
                        self.summary.artifacts += 1
                        self.summary.artifact_bytes += local.stat().st_size
                        local.unlink()
            except ConnectorError as exc:
                why = str(exc).replace(model.id, "…")
                self.summary.skipped[f"files of a logged model that could not be read: {why}"] += 1
                continue
            self._model_metrics(model, model_id)
            self.target.finish_logged_model(model_id)
            self.summary.logged_models += 1

    def _model_metrics(self, model: LoggedModel, model_id: str) -> None:
        """The metrics logged with the model, logged with its copy in the copies of their runs
        (one request per run)."""
        by_run: dict[str, list[Point]] = {}
        for run_id, point in model.metrics:
            if run_id is None or run_id not in self.run_ids:
                self.summary.skipped["logged model metric whose run was not copied"] += 1
                continue
            by_run.setdefault(self.run_ids[run_id], []).append(
                dataclasses.replace(point, model_id=model_id)
            )
        for run_id, points in by_run.items():
            self.target.log_batch(run_id, {}, {}, points)
            self.summary.model_metrics += len(points)

    def _model(self, model: Model) -> None:
        name = self._name(model.name, ".")
        self.summary.models += self.target.create_model(name, model.description, model.tags)
        numbers = self.target.copied_versions(name)
        keys: list[str] = []
        alias_count = 0
        for version in model.versions:
            key = f"{model.name}/{version.version}"
            if key in numbers:
                self.summary.versions_already_there += 1
            elif version.run_id and version.run_id not in self.run_ids:
                self.summary.skipped["model version whose run was not copied"] += 1
                continue
            else:
                # A version without a run (registered from a source alone) is copied as such.
                run_id = self.run_ids[version.run_id] if version.run_id else None
                source = moved_source(
                    version.source, version.run_id or "", run_id or "", self.model_ids
                )
                numbers[key] = self.target.create_version(
                    name,
                    source,
                    run_id,
                    version.description,
                    {**version.tags, VERSION_TAG: key},
                    self.model_ids.get(version.model_id or logged_model_of(version.source)),
                )
                self.summary.versions += 1
            keys.append(key)
            for alias in version.aliases:
                if self.target.set_alias(name, alias, numbers[key]):
                    alias_count += 1
                else:
                    self.summary.skipped["alias refused by the model's promotion gate"] += 1
        self.wanted_versions[name] = (keys, alias_count)
