"""``hub.init`` and ``Run``: log from training code without ever blocking or crashing it.

A run is named here, by a UUIDv7, and its start, points and end go to the hub through the
process's one sender (:mod:`hub.client.sender`), many runs to a request. Points go into an
in-memory buffer, cut into columnar batches (Arrow IPC) with stable ids, so a retry after a
lost response is stored once. If the hub is unreachable the sender keeps retrying with back-off
while the buffer holds at most ``max_buffered`` points; beyond that new points are dropped with
a warning. ``finish()`` waits until the hub has everything, unless told ``wait=False``.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import os
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.client import environment
from hub.client.client import Client
from hub.client.errors import HubError, HubWarning
from hub.client.sender import POINTS, Outbox, sender_for
from hub.ids import new_id

log = logging.getLogger("salon.client")

LOG_PARAMS = """
mutation ClientLogParams($runId: ID!, $params: [KeyValueInput!]!) {
  logParams(runId: $runId, params: $params) { __typename ... on Error { message } }
}
"""
SET_TAGS = """
mutation ClientSetTags($runId: ID!, $tags: [KeyValueInput!]!) {
  setTags(runId: $runId, tags: $tags) { __typename ... on Error { message } }
}
"""


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"optimizer": {"lr": 0.01}}`` → ``{"optimizer.lr": "0.01"}``."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, prefix=name + "."))
        else:
            flat[name] = str(value)
    return flat


USE_DATASET = """
mutation ClientUseDataset($runId: ID!, $project: String!, $dataset: String!, $version: Int,
                          $direction: String!) {
  useDataset(runId: $runId, project: $project, dataset: $dataset, version: $version,
             direction: $direction) {
    __typename
    ... on DatasetUse { version }
    ... on Error { message }
  }
}
"""


class Run:
    """A run being logged. Create it with :func:`hub.init`.

    ``run.client`` is the process-wide :class:`Client` for this hub and token, shared by every
    run; use it for queries, but do not close it.
    """

    def __init__(
        self,
        client: Client,
        run_id: str,
        name: str,
        start: Mapping[str, Any] | None = None,
        *,
        batch_points: int = 100_000,
        flush_interval: float = 0.5,
        max_buffered: int = 10_000_000,
        max_retry_seconds: float = 600.0,
    ) -> None:
        """``start``: the run's start, when the hub has not had it yet."""
        self.client = client
        self.id = run_id
        self.name = name
        self._outbox = Outbox(
            run_id,
            name,
            batch_points=batch_points,
            flush_interval=flush_interval,
            max_buffered=max_buffered,
            max_retry_seconds=max_retry_seconds,
        )
        self._outbox.start = dict(start) if start is not None else None
        self._sender = sender_for(client)
        self._step = 0
        self._finished = False
        self._warned_full = False
        self._sender.add(self._outbox)
        atexit.register(self._at_exit)

    # -- logging --------------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: one past the previous step). Never blocks."""
        if step is None:
            step = self._step
        stamp = int(time.time() * 1000)
        outbox = self._outbox
        with outbox.lock:
            self._step = max(self._step, step + 1)
            if outbox.room() < len(metrics) or outbox.refused is not None:
                self._drop(len(metrics))
                return
            buffer = outbox.buffer
            for key, value in metrics.items():
                buffer.keys.append(key)
                buffer.steps.append(step)
                buffer.stamps.append(stamp)
                buffer.values.append(float(value))
            buffer.size += len(metrics)
            full = buffer.size >= outbox.batch_points
        if full:
            self._sender.wake()

    def log_columns(self, steps: Any, metrics: Mapping[str, Any]) -> None:
        """Record whole columns at once: ``steps`` and, per metric, values of the same length.

        The fast path for many points (e.g. replaying a log): NumPy arrays, lists, or any
        array Arrow reads go to Arrow without a Python loop.
        """
        step_array = _column(steps, pa.int64(), "steps")
        n = len(step_array)
        stamp = int(time.time() * 1000)
        tables = []
        for key, values in metrics.items():
            value_array = _column(values, pa.float64(), repr(key))
            if len(value_array) != n:
                raise ValueError(f"{key!r} has {len(value_array)} values for {n} steps.")
            tables.append(
                pa.table(
                    [
                        pa.repeat(pa.scalar(key, pa.string()), n),
                        step_array,
                        pa.repeat(pa.scalar(stamp, pa.int64()), n),
                        value_array,
                    ],
                    schema=POINTS,
                )
            )
        if not tables:
            return
        points = n * len(tables)
        outbox = self._outbox
        with outbox.lock:
            if n:
                self._step = max(self._step, int(pc.max(step_array).as_py()) + 1)
            if outbox.room() < points or outbox.refused is not None:
                self._drop(points)
                return
            outbox.buffer.chunks.extend(tables)
            outbox.buffer.size += points
            full = outbox.buffer.size >= outbox.batch_points
        if full:
            self._sender.wake()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Add params (nested dicts are flattened with dots). Params cannot change once set."""
        pairs = [{"key": k, "value": v} for k, v in flatten_config(params).items()]
        self._started()
        _check(self.client.query(LOG_PARAMS, {"runId": self.id, "params": pairs})["logParams"])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pairs = [{"key": k, "value": str(v)} for k, v in tags.items()]
        self._started()
        _check(self.client.query(SET_TAGS, {"runId": self.id, "tags": pairs})["setTags"])

    def use_dataset(
        self, project: str, name: str, version: int | None = None, direction: str = "input"
    ) -> int:
        """Record that this run read (``direction="input"``) or produced (``"output"``) a
        dataset version, the latest unless ``version``; returns the version number."""
        self._started()
        result = self.client.query(
            USE_DATASET,
            {
                "runId": self.id,
                "project": project,
                "dataset": name,
                "version": version,
                "direction": direction,
            },
        )["useDataset"]
        _check(result)
        number: int = result["version"]
        return number

    def register_model(
        self,
        name: str,
        source: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        inputs: Any = None,
    ) -> dict[str, Any]:
        """Register this run's model as the next version of ``name``: ``source`` is where the
        weights are (a path in the run or a URI), ``inputs`` the columns it takes
        ({name: type}, a pyarrow schema or a frame). The model's checks start at once; returns
        the version with its checks and gate."""
        self._started()
        return self.client.models.register(
            self.id, name, source, description=description, tags=tags, inputs=inputs
        )

    def attach_notebook(
        self,
        project: str,
        path: str | os.PathLike[str],
        slug: str | None = None,
        message: str = "",
    ) -> dict[str, Any]:
        """Share a Jupyter notebook on this run's page (read-only, outputs included)."""
        self._started()
        return self.client.attach_notebook(
            project, path, run_id=self.id, slug=slug, message=message
        )

    def _started(self) -> None:
        """Before asking the hub about this run: make sure the hub has it."""
        if not self._sender.settle(self._outbox, self.client.connection.timeout, start_only=True):
            raise HubError(
                f"The hub at {self.client.url} has not taken run {self.name!r} yet "
                f"({self._sender.last_error or 'no answer'}); its points are kept meanwhile."
            )
        if self._outbox.refused is not None:
            raise HubError(self._outbox.refused)

    def _drop(self, count: int) -> None:
        outbox = self._outbox
        outbox.dropped += count
        if outbox.refused is None and not self._warned_full:
            self._warned_full = True
            warnings.warn(
                f"Salon: the hub at {self.client.url} is not keeping up or unreachable and "
                f"{outbox.max_buffered} points are waiting; new points are being dropped.",
                HubWarning,
                stacklevel=3,
            )

    # -- sending --------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything logged so far; True if the hub acknowledged it within ``timeout``."""
        return self._sender.settle(self._outbox, timeout)

    @property
    def dropped_points(self) -> int:
        """Points lost because the buffer was full or the hub refused or never came back."""
        return self._outbox.dropped

    def finish(
        self, status: str = "finished", timeout: float = 120.0, *, wait: bool = True
    ) -> None:
        """Mark the run ``finished`` (or ``failed``/``killed``) once every point is stored.

        By default this waits until the hub has acknowledged everything, and never raises
        because the hub is down: it warns instead, so training code ends cleanly. With
        ``wait=False`` it returns at once and the process's sender delivers the rest (the
        interpreter's exit waits for it; :func:`hub.flush` waits on demand).
        """
        if self._finished:
            return
        self._finished = True
        atexit.unregister(self._at_exit)
        outbox = self._outbox
        with outbox.lock:
            outbox.end = {"run": self.id, "status": status, "ended_at": int(time.time() * 1000)}
        self._sender.wake()
        if not wait:
            return
        if not self._sender.settle(outbox, timeout):
            outbox.exit_waits = False  # the script was told; its exit does not wait again
            with outbox.lock:
                waiting = outbox.pending_points + outbox.buffer.size
            if waiting:
                warnings.warn(
                    f"Salon: {waiting} points of run {self.name!r} were not acknowledged "
                    f"within {timeout:.0f} s.",
                    HubWarning,
                    stacklevel=2,
                )
            warnings.warn(
                f"Salon: could not mark run {self.name!r} {status}: the hub at "
                f"{self.client.url} did not answer within {timeout:.0f} s "
                f"({self._sender.last_error or 'no answer'}); the process keeps trying.",
                HubWarning,
                stacklevel=2,
            )
        elif outbox.refused is not None:
            warnings.warn(
                f"Salon refused run {self.name!r}: {outbox.refused}", HubWarning, stacklevel=2
            )

    def _at_exit(self) -> None:
        if not self._finished:
            self.finish(_exit_status(), timeout=30.0)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is KeyboardInterrupt:
            self.finish("killed")
        else:
            self.finish("failed" if exc_type else "finished")


_uncaught: list[type[BaseException]] = []


def _exit_status() -> str:
    """How a script that never called finish() ended: killed by Ctrl+C, failed on an uncaught
    exception, else finished."""
    if not _uncaught:
        return "finished"
    return "killed" if issubclass(_uncaught[-1], KeyboardInterrupt) else "failed"


class _RememberUncaught:
    """A ``sys.excepthook`` that notes the exception's kind, then calls the one before it."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, kind: type[BaseException], value: BaseException, tb: Any) -> None:
        _uncaught.append(kind)
        self.previous(kind, value, tb)


def _install_excepthook() -> None:
    """Chain onto sys.excepthook (once) so runs left open by a crash end as failed."""
    if not isinstance(sys.excepthook, _RememberUncaught):
        sys.excepthook = _RememberUncaught(sys.excepthook)


def _check(result: Mapping[str, Any]) -> Mapping[str, Any]:
    if "message" in result and result.get("__typename") != "Run":
        away = result.get("__typename") == "UnavailableError"  # its database: ask again
        raise HubError(str(result["message"]), status=503 if away else None)
    return result


# What init passes on to Run: the sender's tuning.
RUN_OPTIONS = frozenset(
    name
    for name, parameter in inspect.signature(Run.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
)


def init(
    project: str,
    experiment: str = "default",
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    notes: str = "",
    *,
    url: str | None = None,
    token: str | None = None,
    capture_environment: bool = True,
    **run_options: Any,
) -> Run:
    """Start a run on the hub and return it; log with ``run.log(...)``, end with ``finish()``.

    ``config`` becomes the run's params (nested keys joined with dots). The git commit, command
    line, Python version, host, user and installed packages are recorded unless
    ``capture_environment`` is False.
    """
    unknown = sorted(set(run_options) - RUN_OPTIONS)
    if unknown:  # before the run exists: a typo must not leave a run running forever
        raise TypeError(
            f"hub.init() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"it takes project, experiment, name, config, tags, notes, url, token, "
            f"capture_environment and {', '.join(sorted(RUN_OPTIONS))}."
        )
    client = Client.shared(url, token)
    run_id = new_id()
    name = name or f"run-{run_id[-6:]}"
    env = environment.capture() if capture_environment else None
    start = {
        "id": run_id,
        "project": project,
        "experiment": experiment,
        "name": name,
        "params": flatten_config(config or {}),
        "tags": {k: str(v) for k, v in (tags or {}).items()},
        "notes": notes,
        "environment": None if env is None else {_SNAKE[k]: v for k, v in env.items()},
        "started_at": int(time.time() * 1000),
    }
    sender = sender_for(client)
    first = (project, experiment) not in sender.places
    if first:
        # The first run of a place in this process starts at once, so that a wrong project
        # name, a missing right or a hub out of reach says so here; later ones start with the
        # next request of the sender.
        sender.send_start(start)
    _install_excepthook()
    return Run(client, run_id, name, None if first else start, **run_options)


_SNAKE = {
    "gitCommit": "git_commit",
    "gitDirty": "git_dirty",
    "command": "command",
    "pythonVersion": "python_version",
    "host": "host",
    "packages": "packages",
}


def _column(values: Any, kind: pa.DataType, name: str) -> pa.Array:
    """One column of ``log_columns`` as an Arrow array of ``kind``; anything else is refused
    with its name."""
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise ValueError(f"{name} cannot be read as {kind} numbers: {exc}") from None
