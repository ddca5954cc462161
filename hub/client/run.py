"""``hub.init`` and ``Run``: log from training code without ever blocking or crashing it.

Points go into an in-memory buffer; a background thread sends them to the hub in columnar
batches (Arrow IPC). Each batch has a stable id, so a retry after a lost response is stored once.
If the hub is unreachable the thread keeps retrying with back-off while the buffer holds at most
``max_buffered`` points; beyond that new points are dropped with a warning. ``finish()`` flushes
and waits.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import os
import random
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.client import environment
from hub.client.client import Client
from hub.client.errors import HubError, HubWarning
from hub.client.transport import HubUnreachable

log = logging.getLogger("salon.client")

CREATE_RUN = """
mutation ClientCreateRun($input: CreateRunInput!) {
  createRun(input: $input) {
    __typename
    ... on Run { id name }
    ... on Error { message }
  }
}
"""
FINISH_RUN = """
mutation ClientFinishRun($id: ID!, $status: RunStatus!) {
  finishRun(id: $id, status: $status) { __typename ... on Error { message } }
}
"""
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


class _Buffer:
    """Points waiting to be sent, kept as columns."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.keys: list[str] = []
        self.steps: list[int] = []
        self.stamps: list[int] = []
        self.values: list[float] = []
        self.chunks: list[pa.Table] = []
        self.size = 0

    def take(self) -> pa.Table | None:
        tables = list(self.chunks)
        if self.keys:
            tables.append(
                pa.table(
                    {
                        "key": pa.array(self.keys, pa.string()),
                        "step": pa.array(self.steps, pa.int64()),
                        "ts": pa.array(self.stamps, pa.int64()),
                        "value": pa.array(self.values, pa.float64()),
                    }
                )
            )
        self.clear()
        if not tables:
            return None
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


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
        *,
        batch_points: int = 100_000,
        flush_interval: float = 0.5,
        max_buffered: int = 10_000_000,
        max_retry_seconds: float = 600.0,
    ) -> None:
        self.client = client
        self.id = run_id
        self.name = name
        self._batch_points = batch_points
        self._flush_interval = flush_interval
        self._max_buffered = max_buffered
        self._max_retry_seconds = max_retry_seconds
        self._buffer = _Buffer()
        self._pending: list[tuple[str, pa.Table]] = []  # batches built but not yet acknowledged
        self._pending_points = 0
        self._sequence = 0
        self._step = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._finished = False
        self._dropped = 0
        self._last_error = ""
        self._warned_full = False
        self._thread = threading.Thread(target=self._send_loop, name=f"salon-{run_id}", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    # -- logging --------------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: one past the previous step). Never blocks."""
        if step is None:
            step = self._step
        stamp = int(time.time() * 1000)
        with self._lock:
            self._step = max(self._step, step + 1)
            if self._room() < len(metrics):
                self._drop(len(metrics))
                return
            buffer = self._buffer
            for key, value in metrics.items():
                buffer.keys.append(key)
                buffer.steps.append(step)
                buffer.stamps.append(stamp)
                buffer.values.append(float(value))
            buffer.size += len(metrics)
            full = buffer.size >= self._batch_points
        if full:
            self._wake.set()

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
                    {
                        "key": pa.DictionaryArray.from_arrays(
                            pa.repeat(pa.scalar(0, pa.int32()), n), pa.array([key])
                        ),
                        "step": step_array,
                        "ts": pa.repeat(pa.scalar(stamp, pa.int64()), n),
                        "value": value_array,
                    }
                )
            )
        if not tables:
            return
        points = n * len(tables)
        with self._lock:
            if n:
                self._step = max(self._step, int(pc.max(step_array).as_py()) + 1)
            if self._room() < points:
                self._drop(points)
                return
            for table in tables:
                self._buffer.chunks.append(
                    table.cast(
                        pa.schema(
                            [
                                ("key", pa.string()),
                                ("step", pa.int64()),
                                ("ts", pa.int64()),
                                ("value", pa.float64()),
                            ]
                        )
                    )
                )
            self._buffer.size += points
            full = self._buffer.size >= self._batch_points
        if full:
            self._wake.set()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Add params (nested dicts are flattened with dots). Params cannot change once set."""
        pairs = [{"key": k, "value": v} for k, v in flatten_config(params).items()]
        _check(self.client.query(LOG_PARAMS, {"runId": self.id, "params": pairs})["logParams"])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pairs = [{"key": k, "value": str(v)} for k, v in tags.items()]
        _check(self.client.query(SET_TAGS, {"runId": self.id, "tags": pairs})["setTags"])

    def use_dataset(
        self, project: str, name: str, version: int | None = None, direction: str = "input"
    ) -> int:
        """Record that this run read (``direction="input"``) or produced (``"output"``) a
        dataset version, the latest unless ``version``; returns the version number."""
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
        return self.client.attach_notebook(
            project, path, run_id=self.id, slug=slug, message=message
        )

    def _room(self) -> int:
        return self._max_buffered - self._buffer.size - self._pending_points

    def _drop(self, count: int) -> None:
        self._dropped += count
        if not self._warned_full:
            self._warned_full = True
            warnings.warn(
                f"Salon: the hub at {self.client.url} is not keeping up or unreachable and "
                f"{self._max_buffered} points are waiting; new points are being dropped.",
                HubWarning,
                stacklevel=3,
            )

    # -- sending --------------------------------------------------------------------------------

    def _send_loop(self) -> None:
        # The thread reports through logging, never warnings: under `-W error` a warning would
        # become an exception and silently end the thread.
        while True:
            try:
                self._send_until_stopped()
                return
            except Exception:
                log.exception("Salon: the sender thread hit a bug; restarting it")
                time.sleep(1.0)

    def _send_until_stopped(self) -> None:
        backoff = 0.0
        failing_since: float | None = None
        while True:
            self._wake.wait(timeout=jittered(backoff) if backoff else self._flush_interval)
            self._wake.clear()
            with self._lock:
                table = self._buffer.take()
                # Batches stay at most batch_points long, however much piled up meanwhile.
                for start in range(0, table.num_rows if table else 0, self._batch_points):
                    assert table is not None
                    self._sequence += 1
                    chunk = table.slice(start, self._batch_points)
                    self._pending.append((f"{self.id}:{self._sequence}", chunk))
                    self._pending_points += chunk.num_rows
                stopping = self._stopping
                if self._pending:
                    self._idle.clear()
            sent_all = self._send_pending()
            if sent_all:
                if failing_since is not None:
                    log.warning("Salon: reached the hub again; buffered points are sent.")
                backoff = 0.0
                failing_since = None
                self._idle.set()
            else:
                if failing_since is None:
                    log.warning(
                        "Salon: cannot send points of run %r (%s); retrying with back-off, "
                        "training goes on.",
                        self.name,
                        self._last_error,
                    )
                failing_since = failing_since or time.monotonic()
                backoff = min(30.0, max(0.5, backoff * 2))
                if time.monotonic() - failing_since > self._max_retry_seconds:
                    self._give_up()
                    failing_since = None
            if stopping and sent_all:
                return

    def _send_pending(self) -> bool:
        while True:
            with self._lock:
                if not self._pending:
                    return True
                batch_id, table = self._pending[0]
            try:
                self.client.post_arrow(
                    f"/api/v1/runs/{self.id}/metrics", table, {"batch_id": batch_id}
                )
            except HubError as exc:
                if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                    # Resending cannot help; say so and keep the rest flowing.
                    log.warning(
                        "Salon refused %d points of run %r: %s",
                        table.num_rows,
                        self.name,
                        exc.message,
                    )
                    self._dropped += table.num_rows
                    self._pop()
                    continue
                self._last_error = exc.message
                return False
            self._pop()

    def _pop(self) -> None:
        with self._lock:
            _, table = self._pending.pop(0)
            self._pending_points -= table.num_rows

    def _give_up(self) -> None:
        with self._lock:
            lost = self._pending_points
            self._pending.clear()
            self._pending_points = 0
        self._dropped += lost
        log.warning(
            "Salon: gave up sending %d points of run %r after %.0f s without reaching %s.",
            lost,
            self.name,
            self._max_retry_seconds,
            self.client.url,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything logged so far; True if the hub acknowledged it within ``timeout``."""
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                empty = self._buffer.size == 0 and not self._pending
            if empty and self._idle.is_set():
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            self._wake.set()
            self._idle.wait(timeout=0.05)
            time.sleep(0.001)

    @property
    def dropped_points(self) -> int:
        """Points lost because the buffer was full or the hub refused or never came back."""
        return self._dropped

    def finish(self, status: str = "finished", timeout: float = 120.0) -> None:
        """Flush every point, then mark the run ``finished`` (or ``failed``/``killed``).

        Never raises because the hub is down: it warns instead, so training code ends cleanly.
        """
        if self._finished:
            return
        self._finished = True
        flushed = self.flush(timeout=timeout)
        with self._lock:
            self._stopping = True
        self._wake.set()
        if not flushed:
            warnings.warn(
                f"Salon: {self._pending_points + self._buffer.size} points of run "
                f"{self.name!r} were not acknowledged within {timeout:.0f} s.",
                HubWarning,
                stacklevel=2,
            )
        try:
            self._send_finish(status, time.monotonic() + max(timeout, 10.0))
        except HubError as exc:
            warnings.warn(
                f"Salon: could not mark run {self.name!r} {status}: {exc.message}",
                HubWarning,
                stacklevel=2,
            )
        self._thread.join(timeout=5 if flushed else 0.1)
        atexit.unregister(self._at_exit)

    def _send_finish(self, status: str, deadline: float) -> None:
        """Mark the run ended; a hub that gave no answer, or a load balancer whose hub went
        away (502, 503, 504), is asked again until ``deadline``: ending a run twice with the
        same status changes nothing, so the retry lands safely on whichever hub answers."""
        backoff = 0.25
        while True:
            try:
                variables = {"id": self.id, "status": status.upper()}
                _check(self.client.query(FINISH_RUN, variables)["finishRun"])
                return
            except HubError as exc:
                if not passing(exc) or time.monotonic() + backoff > deadline:
                    raise
            time.sleep(jittered(backoff))
            backoff = min(5.0, backoff * 2)

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


def passing(error: HubError) -> bool:
    """Whether asking again may succeed: no answer came, or a proxy in front of the hubs
    said the one it chose is away (502, 503, 504)."""
    return isinstance(error, HubUnreachable) or error.status in (502, 503, 504)


def jittered(backoff: float) -> float:
    """A pause between ``backoff / 2`` and ``backoff`` ("equal jitter"): many scripts that lost
    the hub at the same moment do not all come back at the same moment."""
    return random.uniform(backoff / 2, backoff)


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
    params = flatten_config(config or {})
    env = environment.capture() if capture_environment else None
    data = client.query(
        CREATE_RUN,
        {
            "input": {
                "project": project,
                "experiment": experiment,
                "name": name,
                "params": [{"key": k, "value": v} for k, v in params.items()],
                "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()],
                "notes": notes,
                "environment": env,
            }
        },
    )["createRun"]
    if data["__typename"] != "Run":
        raise HubError(data["message"])
    _install_excepthook()
    return Run(client, data["id"], data["name"], **run_options)


def _column(values: Any, kind: pa.DataType, name: str) -> pa.Array:
    """One column of ``log_columns`` as an Arrow array of ``kind``; anything else is refused
    with its name."""
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise ValueError(f"{name} cannot be read as {kind} numbers: {exc}") from None
