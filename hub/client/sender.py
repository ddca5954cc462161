"""One sender per hub and token for the whole process: every run's start, points and end go
to the hub through one background thread, many runs to a request.

Each run keeps what the hub has not acknowledged yet in its :class:`Outbox`: its start (the run
is named by a UUIDv7 made here, so it can be logged to before the hub has seen it), its points,
cut into batches with stable ids, and its end. Each time the sender wakes (every
``flush_interval``, when a run's buffer fills, when one finishes or flushes) it cuts every
run's buffer and sends what is waiting as ``POST /api/v1/runs/batch`` requests: one request and
one transaction on the hub for hundreds of short runs. A request that got no answer is sent
again as it was; the hub stores each start, batch and end once. A run the hub refuses (no
right to its project, a bad param) is dropped with a warning, the others go on.
"""

from __future__ import annotations

import atexit
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hub.client.errors import HubError

if TYPE_CHECKING:
    from hub.client.client import Client

log = logging.getLogger("salon.client")

PATH = "/api/v1/runs/batch"
HEADER = b"salon.batch"  # the Arrow stream's metadata saying which runs its points are of
POINTS = pa.schema(
    [("key", pa.string()), ("step", pa.int64()), ("ts", pa.int64()), ("value", pa.float64())]
)
MAX_RUNS = 500  # a request's runs; the hub takes up to 1,000
EXIT_WAIT = 30.0  # seconds the interpreter's exit waits for runs ended without waiting


class Buffer:
    """Points waiting to be cut into batches, kept as columns."""

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
                    [
                        pa.array(self.keys, pa.string()),
                        pa.array(self.steps, pa.int64()),
                        pa.array(self.stamps, pa.int64()),
                        pa.array(self.values, pa.float64()),
                    ],
                    schema=POINTS,
                )
            )
        self.clear()
        if not tables:
            return None
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


class Outbox:
    """What one run has not had acknowledged yet: its start, its points and its end."""

    def __init__(
        self,
        run_id: str,
        name: str,
        *,
        batch_points: int,
        flush_interval: float,
        max_buffered: int,
        max_retry_seconds: float,
    ) -> None:
        self.run_id = run_id
        self.name = name
        self.batch_points = batch_points
        self.flush_interval = flush_interval
        self.max_buffered = max_buffered
        self.max_retry_seconds = max_retry_seconds
        self.lock = threading.Lock()
        self.start: dict[str, Any] | None = None
        self.buffer = Buffer()
        self.pending: list[tuple[str, pa.Table]] = []  # batches cut, not yet acknowledged
        self.pending_points = 0
        self.end: dict[str, Any] | None = None
        self.ended = False  # the hub acknowledged the end
        self.refused: str | None = None
        self.dropped = 0
        self.exit_waits = True  # whether the interpreter's exit waits for what is left
        self._sequence = 0

    def room(self) -> int:
        return self.max_buffered - self.buffer.size - self.pending_points

    def cut(self) -> None:
        """Move the buffer into batches of at most ``batch_points``, each with its id."""
        with self.lock:
            table = self.buffer.take()
            if table is None:
                return
            if self.refused is not None:
                self.dropped += table.num_rows
                return
            for start in range(0, table.num_rows, self.batch_points):
                self._sequence += 1
                chunk = table.slice(start, self.batch_points)
                self.pending.append((f"{self.run_id}:{self._sequence}", chunk))
                self.pending_points += chunk.num_rows

    def settled(self, start_only: bool = False) -> bool:
        """Nothing of the run waits for the hub (only its start, with ``start_only``)."""
        with self.lock:
            if self.refused is not None or start_only:
                return self.refused is not None or self.start is None
            return (
                self.start is None
                and not self.pending
                and self.buffer.size == 0
                and (self.end is None or self.ended)
            )

    def done(self) -> bool:
        """The run ended (or was refused) and nothing of it is left to send."""
        return (self.ended or self.refused is not None) and self.settled()

    def refuse(self, reason: str) -> None:
        with self.lock:
            self.refused = reason
            self.dropped += self.pending_points + self.buffer.size
            self.pending.clear()
            self.pending_points = 0
            self.buffer.clear()
            self.start = self.end = None
        log.warning("Salon refused run %r: %s", self.name, reason)

    def give_up(self, url: str) -> None:
        """Drop the points the hub did not take for ``max_retry_seconds``."""
        with self.lock:
            lost = self.pending_points
            self.pending.clear()
            self.pending_points = 0
            self.dropped += lost
        if lost:
            log.warning(
                "Salon: gave up sending %d points of run %r after %.0f s without reaching %s.",
                lost,
                self.name,
                self.max_retry_seconds,
                url,
            )


class _Request:
    """What one request carries, and from which runs, to acknowledge once answered."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.chunks: list[tuple[str, str, pa.Table]] = []
        self.ends: list[dict[str, Any]] = []
        self.taken: list[tuple[Outbox, bool, int, bool]] = []  # start?, batches, end?
        self.points = 0

    def empty(self) -> bool:
        return not self.taken


class Sender:
    """The background thread that sends every run of one hub and token."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.places: set[tuple[str, str]] = set()  # (project, experiment) a run started in
        self._outboxes: dict[str, Outbox] = {}
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None
        self.last_error = ""
        atexit.register(self._at_exit)

    def add(self, outbox: Outbox) -> None:
        with self._lock:
            self._outboxes[outbox.run_id] = outbox
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="salon-sender", daemon=True)
                self._thread.start()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def send_start(self, start: dict[str, Any]) -> None:
        """Start one run now, in the caller's thread: HubError if the hub refuses or cannot
        be reached."""
        answer = self._post([start], [], [])
        reason = answer.get("refused", {}).get(start["id"])
        if reason:
            raise HubError(str(reason), status=400)
        self.places.add((start["project"], start["experiment"]))

    def settle(self, outbox: Outbox, timeout: float | None, *, start_only: bool = False) -> bool:
        """Wait until the hub acknowledged everything of the run so far (only its start, with
        ``start_only``); False if ``timeout`` seconds passed first."""
        return self._wait(lambda: outbox.settled(start_only), timeout)

    def settle_all(self, timeout: float | None, only: Callable[[Outbox], bool] = bool) -> bool:
        """Wait until the hub acknowledged everything of every run (those ``only`` picks)."""
        return self._wait(lambda: all(o.settled() for o in self._snapshot() if only(o)), timeout)

    def _wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wake.set()
        while not ready():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            with self._answered:
                self._answered.wait(0.25 if left is None else min(left, 0.25))
            self._wake.set()  # someone waits: do not sit out a back-off
        return True

    def _snapshot(self) -> list[Outbox]:
        with self._lock:
            return list(self._outboxes.values())

    # -- the thread -----------------------------------------------------------------------------

    def _loop(self) -> None:
        # The thread reports through logging, never warnings: under `-W error` a warning would
        # become an exception and silently end the thread.
        backoff = 0.0
        while True:
            try:
                outboxes = self._snapshot()
                interval = min((o.flush_interval for o in outboxes), default=None)
                self._wake.wait(timeout=jittered(backoff) if backoff else interval)
                self._wake.clear()
                backoff = 0.0 if self._send_all() else min(30.0, max(0.5, backoff * 2))
            except Exception:
                log.exception("Salon: the sender thread hit a bug; going on")
                time.sleep(1.0)

    def _send_all(self) -> bool:
        """Cut every run's buffer and send all that waits; False when the hub did not answer."""
        outboxes = self._snapshot()
        for outbox in outboxes:
            outbox.cut()
        while True:
            request = _next_request(outboxes)
            if request.empty():
                return True
            sent = self._send(request)
            self._forget_done()
            with self._answered:
                self._answered.notify_all()
            if not sent:
                return False

    def _send(self, request: _Request) -> bool:
        try:
            answer = self._post(request.starts, request.chunks, request.ends)
        except HubError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                for outbox, *_ in request.taken:  # sending it again cannot help
                    outbox.refuse(exc.message)
                return True
            self._failing(exc)
            return False
        if self._failing_since is not None:
            log.warning("Salon: reached the hub again; buffered points are sent.")
        self._failing_since = None
        refused = answer.get("refused") or {}
        for outbox, started, batches, ended in request.taken:
            if outbox.run_id in refused:
                outbox.refuse(str(refused[outbox.run_id]))
                continue
            with outbox.lock:
                if started:
                    outbox.start = None
                for _, table in outbox.pending[:batches]:
                    outbox.pending_points -= table.num_rows
                del outbox.pending[:batches]
                if ended:
                    outbox.ended = True
        return True

    def _failing(self, exc: HubError) -> None:
        self.last_error = exc.message
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning(
                "Salon: cannot reach the hub at %s (%s); retrying with back-off, training goes on.",
                self.client.url,
                exc.message,
            )
        failing_for = time.monotonic() - self._failing_since
        for outbox in self._snapshot():
            if failing_for > outbox.max_retry_seconds:
                outbox.give_up(self.client.url)

    def _forget_done(self) -> None:
        with self._lock:
            for run_id in [r for r, o in self._outboxes.items() if o.done()]:
                del self._outboxes[run_id]

    def _post(
        self,
        starts: list[dict[str, Any]],
        chunks: list[tuple[str, str, pa.Table]],
        ends: list[dict[str, Any]],
    ) -> dict[str, Any]:
        header = {
            "starts": starts,
            "chunks": [{"run": r, "batch": b, "rows": t.num_rows} for r, b, t in chunks],
            "ends": ends,
        }
        tables = [table for _, _, table in chunks]
        points = pa.concat_tables(tables) if tables else POINTS.empty_table()
        points = points.replace_schema_metadata({HEADER: json.dumps(header)})
        return self.client.post_arrow(PATH, points, {})

    def _at_exit(self) -> None:
        """At the interpreter's exit, send what runs ended without waiting left behind."""
        if not self._snapshot():
            return
        if not self.settle_all(EXIT_WAIT, only=lambda outbox: outbox.exit_waits):
            log.warning(
                "Salon: the hub at %s did not take every run's points and end within %.0f s of "
                "exit (%s); what was left is lost.",
                self.client.url,
                EXIT_WAIT,
                self.last_error or "no answer",
            )


def _next_request(outboxes: list[Outbox]) -> _Request:
    """The next request: each run's start, its batches while the request stays within the
    smallest ``batch_points`` of the runs in it, and its end once all its points are in."""
    request = _Request()
    budget: int | None = None
    for outbox in outboxes:
        if len(request.taken) >= MAX_RUNS:
            break
        with outbox.lock:
            if outbox.refused is not None:
                continue
            start = outbox.start
            batches = 0
            for _, table in outbox.pending:
                limit = min(budget or outbox.batch_points, outbox.batch_points)
                if request.points and request.points + table.num_rows > limit:
                    break
                budget = limit
                request.points += table.num_rows
                batches += 1
            all_in = batches == len(outbox.pending) and outbox.buffer.size == 0
            end = outbox.end if all_in and not outbox.ended else None
            chunks = [(outbox.run_id, b, t) for b, t in outbox.pending[:batches]]
        if start is None and not batches and end is None:
            continue
        if start is not None:
            request.starts.append(start)
        request.chunks += chunks
        if end is not None:
            request.ends.append(end)
        request.taken.append((outbox, start is not None, batches, end is not None))
    return request


_senders: dict[int, Sender] = {}
_senders_lock = threading.Lock()


def sender_for(client: Client) -> Sender:
    """The sender of this client (one per hub and token, as :meth:`Client.shared` is)."""
    with _senders_lock:
        sender = _senders.get(id(client))
        if sender is None:
            sender = _senders[id(client)] = Sender(client)
        return sender


def flush(timeout: float | None = None) -> bool:
    """Wait until the hubs have acknowledged everything of every run in this process (their
    starts, points and ends, also of runs ended with ``finish(wait=False)``); False if
    ``timeout`` seconds passed first. A run whose ``finish()`` already warned that its hub did
    not answer in time is not waited for again."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _senders_lock:
        senders = list(_senders.values())
    for sender in senders:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not sender.settle_all(left, only=lambda outbox: outbox.exit_waits):
            return False
    return True


def jittered(backoff: float) -> float:
    """A pause between ``backoff / 2`` and ``backoff`` ("equal jitter"): many scripts that lost
    the hub at the same moment do not all come back at the same moment."""
    return random.uniform(backoff / 2, backoff)
