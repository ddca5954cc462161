"""``hub.Client``: query Salon from a notebook, getting polars DataFrames back."""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, overload
from urllib.parse import quote

import httpx
import polars as pl
import pyarrow as pa

from hub.client.errors import HubError, HubWarning
from hub.client.models import Models
from hub.client.transport import Connection
from hub.client.trash import Trash
from hub.settings import SettingsError, load_settings

ARROW_STREAM = "application/vnd.apache.arrow.stream"

RUNS_QUERY = """
query ClientRuns($project: String, $filter: String, $orderBy: [String!], $first: Int!,
                 $after: String) {
  runs(project: $project, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    __typename
    ... on RunConnection {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id name status user startedAt endedAt durationSeconds
        experiment { name }
        params { key value }
        tags { key value }
        metrics { key lastValue }
      }
    }
    ... on Error { message }
  }
}
"""

SERIES_QUERY = """
query ClientSeries($runIds: [ID!]!, $keys: [String!]!, $buckets: Int!) {
  metricSeries(runIds: $runIds, keys: $keys, buckets: $buckets) {
    runId key steps timestamps values
  }
}
"""


def _settings(url: str | None, token: str | None) -> tuple[str, str]:
    """The hub's address and token: as given, else from the settings (SALON_URL, SALON_TOKEN,
    or a .env file)."""
    if not (url and token):
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise HubError(str(exc)) from None
        url = url or settings.url
        token = token or settings.token.get_secret_value()
    if not token:
        raise HubError("No API token: pass token=... or set SALON_TOKEN (`salon up` prints one).")
    return url.rstrip("/"), token


SUBMIT_JOB = """mutation($project: String!, $entrypoint: String!, $gpus: Float!, $cpus: Float!,
  $runId: ID) {
  submitJob(project: $project, entrypoint: $entrypoint, gpus: $gpus, cpus: $cpus, runId: $runId) {
    __typename ... on ClusterJob { id status user project gpus } ... on Error { message } } }"""
ATTACH_NOTEBOOK = """mutation($project: String!, $slug: String!, $body: String!,
  $message: String!, $runId: ID) {
  savePage(project: $project, slug: $slug, body: $body, message: $message, kind: "notebook",
           runId: $runId) {
    __typename ... on Page { slug version title } ... on Error { message } } }"""


class Client:
    """A connection to a Salon hub.

    ``url`` and ``token`` default to the ``SALON_URL`` and ``SALON_TOKEN`` environment variables.
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0):
        self.url, token = _settings(url, token)
        self.connection = Connection(self.url, token, timeout=timeout)
        self.models = Models(self)
        self.trash = Trash(self)

    _shared: ClassVar[dict[tuple[str, str], Client]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, url: str | None = None, token: str | None = None) -> Client:
        """One client per hub and token for the whole process, as runs use: creating an HTTP
        client costs milliseconds, and a shared one reuses its connections."""
        key = _settings(url, token)
        with cls._shared_lock:
            client = cls._shared.get(key)
            if client is None:
                client = cls._shared[key] = cls(*key)
            return client

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.connection.send(method, path, **kwargs)

    def query(self, graphql: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run any GraphQL operation and return its ``data``; raises HubError on ``errors``."""
        return self.connection.graphql(graphql, variables)

    def post_arrow(self, path: str, table: pa.Table, params: Mapping[str, str]) -> dict[str, Any]:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        response = self._send(
            "POST",
            path,
            params=params,
            content=sink.getvalue().to_pybytes(),
            headers={"Content-Type": ARROW_STREAM},
        )
        result: dict[str, Any] = response.json()
        return result

    # -- notebook API ---------------------------------------------------------------------------

    def runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order_by: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        """Runs as a DataFrame: one row per run, ``params.*`` and ``metrics.*`` as columns.

        ``filter`` uses Salon's filter language, e.g.
        ``"metrics.val_acc > 0.8 and params.lr = '0.01'"``; ``order_by`` e.g.
        ``"metrics.val_acc desc"``. Every matching run comes back, a page of 500 at a time,
        unless ``limit`` says how many; when more match than that, a :class:`HubWarning` says
        how many there are.
        """
        orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
        rows: list[dict[str, Any]] = []
        after = None
        while limit is None or len(rows) < limit:
            result = self.query(
                RUNS_QUERY,
                {
                    "project": project,
                    "filter": filter,
                    "orderBy": orders,
                    "first": 500 if limit is None else min(500, limit - len(rows)),
                    "after": after,
                },
            )["runs"]
            if result["__typename"] != "RunConnection":
                raise HubError(result["message"])
            rows.extend(_flatten(node) for node in result["nodes"])
            after = result["pageInfo"]["endCursor"]
            if not result["pageInfo"]["hasNextPage"]:
                break
            if limit is not None and len(rows) >= limit:
                warnings.warn(
                    f"Salon: {result['totalCount']:,} runs match; these are the first {limit:,} "
                    "(limit=None brings them all).",
                    HubWarning,
                    stacklevel=2,
                )
        if not rows:
            return pl.DataFrame(schema={"id": pl.String, "name": pl.String, "status": pl.String})
        frame = pl.DataFrame(rows, infer_schema_length=None)
        # Cast first: a column with no value at all (no run has ended) comes in as nulls.
        return frame.with_columns(
            pl.col("started_at", "ended_at")
            .cast(pl.String)
            .str.to_datetime(time_zone="UTC", strict=False)
        )

    def run(self, run_id: str) -> dict[str, Any]:
        """One run with params, tags, metrics and environment, as a dict."""
        data = self.query(
            """query($id: ID!) { run(id: $id) { id name status user notes startedAt endedAt
                 experiment { name } project { name } params { key value } tags { key value }
                 metrics { key lastValue lastStep minValue maxValue pointCount }
                 environment { gitCommit gitDirty command pythonVersion host packages } } }""",
            {"id": run_id},
        )
        if data["run"] is None:
            raise HubError(f"No run with id {run_id!r}.", status=404)
        run: dict[str, Any] = data["run"]
        return run

    def metrics(
        self,
        run_ids: str | Iterable[str],
        keys: str | Iterable[str] | None = None,
        max_points: int | None = None,
    ) -> pl.DataFrame:
        """Metric points, one row each: run_id, key, step, timestamp, value.

        With ``max_points`` each series is downsampled on the hub to about that many points;
        without it every point comes as Arrow at full resolution.
        """
        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        names = [keys] if isinstance(keys, str) else list(keys or [])
        if max_points is None:
            params = [("run_id", run_id) for run_id in ids] + [("key", key) for key in names]
            response = self._send("GET", "/api/v1/metrics", params=params)
            table = pa.ipc.open_stream(response.content).read_all()
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            return frame.rename({"ts": "timestamp"}).with_columns(
                pl.col("run_id", "key").cast(pl.String),
                pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC"),
            )
        if not names:
            names = sorted({m["key"] for run_id in ids for m in self.run(run_id)["metrics"]})
        series = self.query(SERIES_QUERY, {"runIds": ids, "keys": names, "buckets": max_points})
        frames = [
            pl.DataFrame(
                {
                    "run_id": [s["runId"]] * len(s["steps"]),
                    "key": [s["key"]] * len(s["steps"]),
                    "step": pl.Series(s["steps"]).cast(pl.Int64),
                    "timestamp": pl.Series(s["timestamps"]).cast(pl.Int64),
                    "value": pl.Series(s["values"], dtype=pl.Float64),
                }
            )
            for s in series["metricSeries"]
        ]
        if not frames:
            return pl.DataFrame(
                schema={
                    "run_id": pl.String,
                    "key": pl.String,
                    "step": pl.Int64,
                    "timestamp": pl.Datetime("ms", "UTC"),
                    "value": pl.Float64,
                }
            )
        return pl.concat(frames).with_columns(
            pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC")
        )

    # -- datasets -------------------------------------------------------------------------------

    def upload_dataset(
        self,
        project: str,
        name: str,
        data: str | os.PathLike[str] | pl.DataFrame | Any,
        message: str = "",
        format: str | None = None,
    ) -> dict[str, Any]:
        """Upload a new version of a dataset from a CSV or Parquet file, or a polars or pandas
        DataFrame. Files stream from disk (never whole in memory). Returns the version's
        number, rows and bytes, and ``created`` (False when the content equals the latest
        version's, which is then returned instead of a duplicate)."""
        if isinstance(data, str | os.PathLike):
            path = Path(data)
            return self._upload(project, name, path, path.name, message, format)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.parquet"
            frame = data if isinstance(data, pl.DataFrame) else pl.from_pandas(data)
            frame.write_parquet(path)
            return self._upload(project, name, path, path.name, message, "parquet")

    def _upload(
        self, project: str, name: str, path: Path, filename: str, message: str, kind: str | None
    ) -> dict[str, Any]:
        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk

        params = {"filename": filename, "message": message, **({"format": kind} if kind else {})}
        response = self._send(
            "POST",
            f"{_dataset_path(project, name)}/versions",
            params=params,
            content=chunks(),
            headers={"Content-Length": str(path.stat().st_size)},
            timeout=None,
        )
        result: dict[str, Any] = response.json()
        return result

    def submit_job(
        self,
        entrypoint: str,
        *,
        project: str,
        gpus: float = 0,
        cpus: float = 1,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Run a command on the team's Ray cluster for ``project``, asking for ``gpus`` and
        ``cpus``; your name and the project go with it. Returns the job (``id``, ``status``)."""
        result: dict[str, Any] = self.query(
            SUBMIT_JOB,
            {
                "project": project,
                "entrypoint": entrypoint,
                "gpus": gpus,
                "cpus": cpus,
                "runId": run_id,
            },
        )["submitJob"]
        if result["__typename"] != "ClusterJob":
            raise HubError(result["message"])
        return result

    def stop_job(self, job_id: str) -> bool:
        result: dict[str, Any] = self.query(
            "mutation($id: ID!) { stopJob(id: $id) { __typename ... on JobStopped { stopped } "
            "... on Error { message } } }",
            {"id": job_id},
        )["stopJob"]
        if result["__typename"] != "JobStopped":
            raise HubError(result["message"])
        return bool(result["stopped"])

    def attach_notebook(
        self,
        project: str,
        path: str | os.PathLike[str],
        *,
        run_id: str | None = None,
        slug: str | None = None,
        message: str = "",
    ) -> dict[str, Any]:
        """Share a Jupyter notebook (read-only, outputs included) in a project, attached to a
        run if ``run_id``; saving it again adds a version. Returns slug, version and title."""
        notebook = Path(path)
        wanted = slug or re.sub(r"[^a-z0-9-]+", "-", notebook.stem.lower()).strip("-")[:80]
        result: dict[str, Any] = self.query(
            ATTACH_NOTEBOOK,
            {
                "project": project,
                "slug": wanted or "notebook",
                "body": notebook.read_text(),
                "message": message,
                "runId": run_id,
            },
        )["savePage"]
        if result["__typename"] != "Page":
            raise HubError(result["message"])
        return result

    def register_dataset(
        self, project: str, name: str, path: str, message: str = ""
    ) -> dict[str, Any]:
        """Register a Parquet file that lives on the hub's machine or in S3 (``s3://...``,
        under a folder or prefix the hub may read) as a new version, without copying it; its
        checksum is recorded."""
        response = self._send(
            "POST",
            f"{_dataset_path(project, name)}/register",
            json={"path": path, "message": message},
            timeout=None,
        )
        result: dict[str, Any] = response.json()
        return result

    @overload
    def dataset(
        self, project: str, name: str, version: int | None = None, *, lazy: Literal[False] = False
    ) -> pl.DataFrame: ...

    @overload
    def dataset(
        self, project: str, name: str, version: int | None = None, *, lazy: Literal[True]
    ) -> pl.LazyFrame: ...

    def dataset(
        self, project: str, name: str, version: int | None = None, *, lazy: bool = False
    ) -> pl.DataFrame | pl.LazyFrame:
        """A dataset version's rows (the latest unless ``version``), streamed as Arrow record
        batches. With ``lazy=True`` the batches go to a local Arrow file as they arrive and a
        polars LazyFrame scans it, so a dataset larger than memory can still be filtered.
        Columns tagged PII come as ••• unless you hold the PII grant."""
        which = "latest" if version is None else str(int(version))
        path = f"{_dataset_path(project, name)}/versions/{which}/data"
        with self.connection.stream("GET", path) as response:
            try:
                body = io.BufferedReader(_Chunks(response.iter_bytes()), 1 << 20)
                reader = pa.ipc.open_stream(body)
            except pa.ArrowInvalid:  # a version without rows sends an empty body
                return pl.LazyFrame() if lazy else pl.DataFrame()
            if not lazy:
                frame = pl.from_arrow(reader.read_all())
                assert isinstance(frame, pl.DataFrame)
                return frame
            target = Path(_scratch()) / f"{new_name()}.arrow"
            with pa.ipc.new_file(target, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
            return pl.scan_ipc(target)


_SCRATCH: list[str] = []


def _scratch() -> str:
    """A folder for lazily scanned datasets, removed when the process exits."""
    if not _SCRATCH:
        folder = tempfile.mkdtemp(prefix="salon-datasets-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SCRATCH.append(folder)
    return _SCRATCH[0]


def new_name() -> str:
    return os.urandom(8).hex()


class _Chunks(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the response body as it arrives)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _dataset_path(project: str, name: str) -> str:
    return f"/api/v1/projects/{quote(project, safe='')}/datasets/{quote(name, safe='')}"


def _flatten(node: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": node["id"],
        "name": node["name"],
        "experiment": node["experiment"]["name"],
        "status": node["status"].lower(),
        "user": node["user"],
        "started_at": node["startedAt"],
        "ended_at": node["endedAt"],
        "duration_s": node["durationSeconds"],
    }
    row.update({f"params.{p['key']}": p["value"] for p in node["params"]})
    row.update({f"tags.{t['key']}": t["value"] for t in node["tags"]})
    row.update({f"metrics.{m['key']}": m["lastValue"] for m in node["metrics"]})
    return row
