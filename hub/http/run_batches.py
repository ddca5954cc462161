"""POST /api/v1/runs/batch: many runs' starts, points and ends in one request.

The body is an Arrow IPC stream of points (key, step, ts, value), whose schema metadata
``salon.batch`` is a JSON object saying what the points are and what else to do::

    {"starts": [{"id": "<UUIDv7>", "project": "vision", "experiment": "sweep",
                 "name": "lr-0.01", "params": {"lr": "0.01"}, "tags": {}, "notes": "",
                 "environment": {"git_commit": "…", …}, "started_at": 1764927600000}],
     "chunks": [{"run": "<id>", "batch": "<id>:1", "rows": 5}],
     "ends":   [{"run": "<id>", "status": "finished", "ended_at": 1764927601000}]}

The chunks are consecutive slices of the stream's rows, in order. The answer is
``{"stored": points, "refused": {"<run id>": "why"}}``; see
:mod:`hub.services.tracking.run_batches` for what is done, in what order, and why sending it
again is safe.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.domain.tracking import PointChunk, RunEnvironment
from hub.errors import InvalidInput
from hub.http.body import read_limited
from hub.priority import first
from hub.services.tracking import run_batches
from hub.services.tracking.metric_batches import read_batch
from hub.services.tracking.runs import NewRun

HEADER = b"salon.batch"
_LONGEST_MS = 253_402_300_799_999  # 9999-12-31


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Environment(_Strict):
    git_commit: str | None = None
    git_dirty: bool | None = None
    command: str | None = None
    python_version: str | None = None
    host: str | None = None
    packages: list[str] = Field(default_factory=list)


class _Start(_Strict):
    id: str
    project: str
    experiment: str = "default"
    name: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    notes: str = ""
    environment: _Environment | None = None
    started_at: int | None = Field(default=None, ge=0, le=_LONGEST_MS)


class _Chunk(_Strict):
    run: str
    batch: str | None = None
    rows: int = Field(ge=0)


class _End(_Strict):
    run: str
    status: str
    ended_at: int | None = Field(default=None, ge=0, le=_LONGEST_MS)


class _Header(_Strict):
    starts: list[_Start] = Field(default_factory=list)
    chunks: list[_Chunk] = Field(default_factory=list)
    ends: list[_End] = Field(default_factory=list)


async def apply(request: Request) -> Response:
    """Store the runs' starts, points and ends; say which runs were refused and why."""
    hub = request.app.state.hub
    body = await read_limited(request, hub.settings.max_upload_bytes)
    batch = parse(body)
    outcome = await first(run_batches.apply(hub.store, request.state.principal, batch))
    hub.metrics.points.inc(outcome.stored)
    return JSONResponse({"stored": outcome.stored, "refused": outcome.refused})


def parse(body: bytes) -> run_batches.RunBatch:
    """The batch a body carries, or InvalidInput saying what is wrong with it."""
    table = read_batch(body)
    raw = (table.schema.metadata or {}).get(HEADER)
    if raw is None:
        raise InvalidInput(
            "The Arrow stream has no 'salon.batch' metadata saying which runs its points are "
            "of; see POST /api/v1/runs/batch in the README."
        )
    try:
        header = _Header.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput(f"The 'salon.batch' metadata is not valid: {_said(exc)}") from None
    counted = sum(chunk.rows for chunk in header.chunks)
    if counted != table.num_rows:
        raise InvalidInput(
            f"The batch's chunks count {counted} rows, but the stream has {table.num_rows}."
        )
    table = table.replace_schema_metadata(None)
    chunks, offset = [], 0
    for chunk in header.chunks:
        chunks.append(PointChunk(chunk.run, chunk.batch, table.slice(offset, chunk.rows)))
        offset += chunk.rows
    return run_batches.RunBatch(
        starts=[_new_run(start) for start in header.starts],
        chunks=chunks,
        endings=[
            run_batches.Ending(end.run, end.status, _moment(end.ended_at)) for end in header.ends
        ],
    )


def _new_run(start: _Start) -> NewRun:
    env = start.environment or _Environment()
    return NewRun(
        id=start.id,
        project=start.project,
        experiment=start.experiment,
        name=start.name,
        params=start.params,
        tags=start.tags,
        notes=start.notes,
        environment=RunEnvironment.of(env),
        started_at=_moment(start.started_at),
    )


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _said(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = exc.error_count() - 1
        return f"{where}: {first['msg']}" + (f" (and {more} more)" if more else "")
    return str(exc)
