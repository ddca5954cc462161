"""Columnar metric endpoints: Arrow IPC in (ingest) and out (full-resolution history)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hub.http.body import read_limited
from hub.http.streams import ARROW_STREAM, written
from hub.services.tracking import metrics


async def ingest_metrics(request: Request) -> Response:
    """POST /api/v1/runs/{run_id}/metrics?batch_id=… with an Arrow IPC stream body."""
    hub = request.app.state.hub
    run_id, batch_id = request.path_params["run_id"], request.query_params.get("batch_id", "")
    await metrics.may_ingest(hub.store, request.state.principal, run_id, batch_id)  # body unread
    body = await read_limited(request, hub.settings.max_upload_bytes)
    stored = await metrics.ingest(hub.store, request.state.principal, run_id, batch_id, body)
    hub.metrics.points.inc(stored)
    return JSONResponse({"stored": stored})


async def metric_history(request: Request) -> Response:
    """GET /api/v1/metrics?run_id=…&run_id=…&key=… → every point as an Arrow IPC stream, sent
    a million points at a time so that no history is held whole in memory."""
    hub = request.app.state.hub
    batches = await metrics.history(
        hub.store,
        request.state.principal,
        request.query_params.getlist("run_id"),
        request.query_params.getlist("key") or None,
    )
    return StreamingResponse(
        written(batches, "arrow", metrics.HISTORY_SCHEMA), media_type=ARROW_STREAM
    )
