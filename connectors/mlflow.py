"""An existing MLflow installation, read through MLflow's own client.

The address is anything ``MlflowClient`` reads: a tracking server (``http(s)://…``, with the
usual ``MLFLOW_TRACKING_*`` credentials), a SQLite or PostgreSQL store (``sqlite:///…``,
``postgresql://…``) or an ``mlruns`` folder (a path or ``file://…``). What comes out are plain
values: experiments, runs with params, tags and full metric histories, artifact files, and
registered models with their versions and aliases.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import Connector, ConnectorError, require

PAGE = 1000
DATABASES = ("postgresql", "mysql", "mssql")  # stores MLflow migrates in place when it opens


def double(value: float) -> float | str:
    """A double as MLflow's REST API writes it: non-finite values as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


# Tags a copy (``salon import|export mlflow``) leaves, to know what it copied already.
RUN_TAG = "salon.copy.source_run_id"
DONE_TAG = "salon.copy.complete"
SOURCE_TAG = "salon.copy.source"
VERSION_TAG = "salon.copy.source_version"
MODEL_TAG = "salon.copy.source_model_id"  # on a copied logged model


@dataclasses.dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    name: str
    deleted: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    key: str
    value: float
    timestamp: int
    step: int
    model_id: str | None = None  # logged with a logged model (MLflow 3's model_id=)


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetUse:
    """A dataset a run read (MLflow's ``log_input``), as MLflow describes it, with the input's
    tags (its context: training, evaluation…)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str
    profile: str
    tags: dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    id: str
    experiment_id: str
    name: str
    status: str  # RUNNING | SCHEDULED | FINISHED | FAILED | KILLED
    start_time: int | None  # ms
    end_time: int | None
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: tuple[str, ...]
    inputs: tuple[DatasetUse, ...] = ()
    model_inputs: tuple[str, ...] = ()  # logged models the run read (an evaluation run)
    model_outputs: tuple[tuple[str, int], ...] = ()  # logged models it made, at which step


def _uses(run: Any) -> dict[str, Any]:
    """A run's dataset and logged-model inputs and its model outputs, as :class:`Run` keeps
    them (MLflow 2 runs have no model inputs or outputs)."""
    inputs, outputs = getattr(run, "inputs", None), getattr(run, "outputs", None)
    datasets = getattr(inputs, "dataset_inputs", None) or []
    return {
        "inputs": tuple(
            DatasetUse(
                d.dataset.name,
                d.dataset.digest,
                d.dataset.source_type or "",
                d.dataset.source or "",
                d.dataset.schema or "",
                d.dataset.profile or "",
                {t.key: t.value for t in d.tags or []},
            )
            for d in datasets
        ),
        "model_inputs": tuple(m.model_id for m in getattr(inputs, "model_inputs", None) or []),
        "model_outputs": tuple(
            (m.model_id, int(m.step or 0)) for m in getattr(outputs, "model_outputs", None) or []
        ),
    }


@dataclasses.dataclass(frozen=True, slots=True)
class Version:
    model: str
    version: str
    run_id: str | None
    source: str
    description: str
    tags: dict[str, str]
    aliases: tuple[str, ...]
    model_id: str | None = None  # the MLflow 3 logged model it was registered from


@dataclasses.dataclass(frozen=True, slots=True)
class RunCounts:
    """What one run holds, to compare a copy with its source."""

    params: int
    tags: frozenset[str]  # tag keys
    points: int
    files: int
    file_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedModel:
    """An MLflow 3 logged model: its files are at ``location``."""

    id: str
    experiment_id: str
    name: str
    run_id: str | None
    model_type: str
    params: dict[str, str]
    tags: dict[str, str]
    location: str
    # Metrics logged with the model (model_id=): each with the run it was logged in, whose
    # history holds the same point.
    metrics: tuple[tuple[str | None, Point], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    name: str
    description: str
    tags: dict[str, str]
    versions: tuple[Version, ...]


def tracking_uri(address: str) -> str:
    """An existing folder becomes a ``file://`` URI; anything else is used as given."""
    if "://" not in address and Path(address).is_dir():
        return Path(address).resolve().as_uri()
    return address


def sqlite_file(address: str) -> Path | None:
    """The file of a ``sqlite:///…`` store address (relative, or absolute with four slashes)."""
    if not address.startswith("sqlite:///"):
        return None
    return Path(address[len("sqlite:///") :].split("?", 1)[0])


def _readable_copy(path: Path, folder: Path) -> str:
    """A copy of the SQLite store at ``path``, brought to this MLflow's schema: MLflow
    migrates a store it opens in place, and the team's own (older) MLflow server would then
    refuse the original. The source is opened read-only and copied with SQLite's backup API,
    so a store in use is copied consistently."""
    import sqlite3

    if not path.is_file():
        raise ConnectorError(f"There is no SQLite file at {path}.")
    copy = folder / "mlflow.db"
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    except sqlite3.Error as exc:
        raise ConnectorError(f"Cannot read the SQLite store at {path}: {exc}") from exc
    address = f"sqlite:///{copy}"
    _upgrade(address)
    return address


def _shown(address: str) -> str:
    """The address with its password hidden, for messages."""
    import sqlalchemy

    try:
        return str(sqlalchemy.make_url(address).render_as_string(hide_password=True))
    except Exception:
        return address.split("@")[-1]


def _schema(address: str) -> tuple[set[str], str | None]:
    """The tables of the database at ``address`` and its MLflow schema revision, read only."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(address)
        try:
            with engine.connect() as connection:
                tables = set(sqlalchemy.inspect(connection).get_table_names())
                if "alembic_version" not in tables:
                    return tables, None
                query = sqlalchemy.text("SELECT version_num FROM alembic_version")
                return tables, connection.execute(query).scalar()
        finally:
            engine.dispose()
    except Exception as exc:
        raise ConnectorError(f"Cannot read the MLflow store at {_shown(address)}: {exc}") from exc


def _upgrade(address: str) -> None:
    """Migrate the store at ``address`` (Salon's own copy) to this MLflow's schema."""
    import sqlalchemy

    utils = require("mlflow.store.db.utils", "mlflow")
    _, current = _schema(address)
    if current is None or current == utils._get_latest_schema_revision():
        return  # MLflow creates the tables of an empty store itself
    engine = sqlalchemy.create_engine(address)
    try:
        utils._upgrade_db(engine)
    except Exception as exc:
        raise ConnectorError(f"Cannot bring a copy of the MLflow store up to date: {exc}") from exc
    finally:
        engine.dispose()


def _refuse_older_schema(address: str) -> None:
    """Refuse a database store whose schema this MLflow would migrate in place: reading must
    never change the source (the team's MLflow server would refuse it afterwards)."""
    utils = require("mlflow.store.db.utils", "mlflow")
    tables, current = _schema(address)
    if "experiments" not in tables:
        raise ConnectorError(f"The database at {_shown(address)} holds no MLflow store.")
    wanted = utils._get_latest_schema_revision()
    if current != wanted:
        import mlflow

        raise ConnectorError(
            f"The MLflow store at {_shown(address)} has schema revision {current}; MLflow "
            f"{mlflow.__version__}, which this import uses, expects {wanted} and would migrate "
            "the store in place, and Salon never writes to its source. Import through the "
            "team's MLflow tracking server instead (--from http://…), or from a copy of the "
            "database."
        )


def client_for(address: str) -> Any:
    """MLflow's client for one store (tracking and registry), or ConnectorError."""
    require("mlflow", "mlflow")
    from mlflow import MlflowClient

    if address.startswith("file:"):
        # MLflow 3 refuses its folder store unless asked; reading an old one is why we are here.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        return MlflowClient(tracking_uri=address, registry_uri=address)
    except Exception as exc:
        raise ConnectorError(f"Cannot open the MLflow store at {_shown(address)}: {exc}") from exc


def called(address: str, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, its failure as one ConnectorError saying what failed."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise ConnectorError(f"MLflow at {_shown(address)} failed to {what}: {exc}") from exc


def every_logged_model(call: Any, client: Any, experiment_id: str) -> Iterator[Any]:
    """Every logged model of the experiment, a page at a time (``call``: the connector's
    way of calling MLflow, saying what failed)."""
    token = None
    while True:
        page = call(
            "list logged models",
            client.search_logged_models,
            [experiment_id],
            max_results=100,
            page_token=token,
        )
        yield from page
        token = page.token
        if not token:
            return


class MlflowSource(Connector):
    """Read-only access to one MLflow installation."""

    name = "mlflow"

    def __init__(self, address: str, artifacts_from: Path | None = None) -> None:
        """``artifacts_from``: where the store's tracking server keeps proxied artifacts (its
        ``--artifacts-destination``), for runs whose files are ``mlflow-artifacts:/`` URIs;
        only that server can read them otherwise."""
        super().__init__(tracking_uri(address))
        require("mlflow", "mlflow")
        self._artifacts_from = artifacts_from
        self._proxied: dict[str, Path | None] = {}  # run id -> its folder there, if proxied
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        readable = self.address
        if (path := sqlite_file(self.address)) is not None:
            self._folder = tempfile.TemporaryDirectory(prefix="salon-mlflow-")
            try:
                readable = _readable_copy(path, Path(self._folder.name))
            except ConnectorError:
                self.close()
                raise
        elif self.address.split(":", 1)[0].split("+", 1)[0] in DATABASES:
            _refuse_older_schema(self.address)
        # Some MLflow calls open the default store when none is set: a mlflow.db in the
        # working directory. Point the default at the source instead.
        os.environ.setdefault("MLFLOW_TRACKING_URI", readable)
        self._client = client_for(readable)

    def close(self) -> None:
        """Remove the copy of a SQLite store."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return called(self.address, what, fn, *args, **kwargs)

    def check(self) -> None:
        """One quick request (no retries with back-off, unless the caller set them), so that
        a wrong address is reported at once."""
        quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
        before = {name: os.environ.get(name) for name in quick}
        os.environ.update({k: v for k, v in quick.items() if before[k] is None})
        try:
            self._call("list experiments", self._client.search_experiments, max_results=1)
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)

    def experiments(self) -> list[Experiment]:
        from mlflow.entities import ViewType

        found, token = [], None
        while True:
            page = self._call(
                "list experiments",
                self._client.search_experiments,
                view_type=ViewType.ALL,
                max_results=PAGE,
                page_token=token,
            )
            found += [
                Experiment(e.experiment_id, e.name, e.lifecycle_stage == "deleted") for e in page
            ]
            token = page.token
            if not token:
                return found

    def runs(self, experiment_id: str) -> Iterator[Run]:
        """Every active run of the experiment, oldest first."""
        token = None
        while True:
            page = self._call(
                "list runs",
                self._client.search_runs,
                [experiment_id],
                max_results=PAGE,
                order_by=["attributes.start_time ASC"],
                page_token=token,
            )
            for run in page:
                yield Run(
                    id=run.info.run_id,
                    experiment_id=run.info.experiment_id,
                    name=run.info.run_name or run.info.run_id,
                    status=run.info.status,
                    start_time=run.info.start_time,
                    end_time=run.info.end_time,
                    params=dict(run.data.params),
                    tags=dict(run.data.tags),
                    metric_keys=tuple(sorted(run.data.metrics)),
                    **_uses(run),
                )
            token = page.token
            if not token:
                return

    def history(self, run_id: str, key: str) -> list[Point]:
        found = self._call("read a metric history", self._client.get_metric_history, run_id, key)
        return [Point(m.key, m.value, m.timestamp, m.step) for m in found]

    def _local(self, location: str) -> Path | None:
        """Where files proxied by a tracking server (``mlflow-artifacts:/…``) are on disk,
        under ``artifacts_from``, when the store is read directly; None for other locations
        (MLflow's client reads those)."""
        if not location.startswith("mlflow-artifacts:") or self.address.startswith("http"):
            return None
        if self._artifacts_from is None:
            raise ConnectorError(
                f"Files at {location} were logged through an MLflow tracking server; give the "
                "folder where that server keeps them with --artifacts-from (its "
                "--artifacts-destination, ./mlartifacts by default), or import from the server "
                "itself (--from http://…)."
            )
        inside = location.split(":", 1)[1].lstrip("/")
        if location.startswith("mlflow-artifacts://"):  # with the server's host
            inside = inside.split("/", 1)[1] if "/" in inside else ""
        return self._artifacts_from / inside

    def _proxied_folder(self, run_id: str) -> Path | None:
        """The run's folder on disk when its files are proxied (see :meth:`_local`)."""
        if run_id not in self._proxied:
            uri = self._call("read a run", self._client.get_run, run_id).info.artifact_uri or ""
            self._proxied[run_id] = self._local(uri)
        return self._proxied[run_id]

    def artifacts(self, run_id: str, path: str | None = None) -> Iterator[tuple[str, int]]:
        """(path, size) of every file the run logged."""
        proxied = self._proxied_folder(run_id)
        if proxied is not None:
            if proxied.is_dir():
                for file in sorted(p for p in proxied.rglob("*") if p.is_file()):
                    yield file.relative_to(proxied).as_posix(), file.stat().st_size
            return
        for item in self._call("list artifacts", self._client.list_artifacts, run_id, path):
            if item.is_dir:
                yield from self.artifacts(run_id, item.path)
            else:
                yield item.path, int(item.file_size or 0)

    def download(self, run_id: str, path: str, folder: Path) -> Path:
        proxied = self._proxied_folder(run_id)
        if proxied is not None:
            local = folder / path
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(proxied / path, local)
            return local
        local = self._call(
            "download an artifact", self._client.download_artifacts, run_id, path, str(folder)
        )
        return Path(local)

    def models(self) -> Iterator[Model]:
        token = None
        while True:
            page = self._call(
                "list registered models",
                self._client.search_registered_models,
                max_results=100,
                page_token=token,
            )
            for model in page:
                yield Model(
                    model.name,
                    model.description or "",
                    dict(model.tags),
                    tuple(self._versions(model.name, model.aliases)),
                )
            token = page.token
            if not token:
                return

    def _versions(self, name: str, aliases: dict[str, str]) -> Iterator[Version]:
        by_version: dict[str, list[str]] = {}
        for alias, version in (aliases or {}).items():
            by_version.setdefault(str(version), []).append(alias)
        escaped = name.replace("'", "\\'")
        found = self._call(
            "list model versions", self._client.search_model_versions, f"name = '{escaped}'"
        )
        for v in sorted(found, key=lambda v: int(v.version)):
            yield Version(
                name,
                str(v.version),
                v.run_id or None,
                v.source or "",
                v.description or "",
                dict(v.tags),
                tuple(sorted(by_version.get(str(v.version), []))),
                getattr(v, "model_id", None) or None,
            )

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        """The experiment's logged models that finished uploading."""
        for m in every_logged_model(self._call, self._client, experiment_id):
            if str(m.status) not in ("READY", "LoggedModelStatus.READY", "LOGGED_MODEL_READY"):
                continue
            yield LoggedModel(
                m.model_id,
                str(m.experiment_id),
                m.name,
                m.source_run_id or None,
                m.model_type or "",
                dict(m.params or {}),
                dict(m.tags or {}),
                m.artifact_location,
                tuple(
                    (x.run_id or None, Point(x.key, x.value, x.timestamp, x.step))
                    for x in m.metrics or []
                ),
            )

    def _repository(self, location: str) -> tuple[Any, Path | None]:
        """MLflow's repository of files at ``location``, or their folder on disk when they
        are proxied (see :meth:`_local`)."""
        folder = self._local(location)
        if folder is not None:
            return None, folder
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return self._call("open model files", get_artifact_repository, location), None

    def model_files(self, model: LoggedModel, path: str | None = None) -> Iterator[str]:
        """The paths of the logged model's files."""
        repository, folder = self._repository(model.location)
        if folder is not None:
            if folder.is_dir():
                yield from sorted(
                    p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                )
            return
        for item in self._call("list model files", repository.list_artifacts, path):
            if item.is_dir:
                yield from self.model_files(model, item.path)
            else:
                yield item.path

    def download_model_file(self, model: LoggedModel, path: str, folder: Path) -> Path:
        repository, local_folder = self._repository(model.location)
        local = folder / path
        local.parent.mkdir(parents=True, exist_ok=True)
        if local_folder is not None:
            shutil.copyfile(local_folder / path, local)
            return local
        return Path(
            self._call("download a model file", repository.download_artifacts, path, str(folder))
        )


def quiet() -> None:
    """Keep MLflow's own progress messages out of the importer's output."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
