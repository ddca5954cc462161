"""Columnar metric endpoints: Arrow IPC in (ingest) and out (full-resolution history)."""

from __future__ import annotations

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.http.body import read_limited
from hub.services import metrics

ARROW_STREAM = "application/vnd.apache.arrow.stream"


async def ingest_metrics(request: Request) -> Response:
    """POST /api/v1/runs/{run_id}/metrics?batch_id=… with an Arrow IPC stream body."""
    hub = request.app.state.hub
    body = await read_limited(request, hub.settings.max_upload_bytes)
    stored = await metrics.ingest(
        hub.store,
        request.state.principal,
        request.path_params["run_id"],
        request.query_params.get("batch_id", ""),
        body,
    )
    return JSONResponse({"stored": stored})


async def metric_history(request: Request) -> Response:
    """GET /api/v1/metrics?run_id=…&run_id=…&key=… → every point as an Arrow IPC stream."""
    hub = request.app.state.hub
    table = await metrics.history(
        hub.store,
        request.state.principal,
        request.query_params.getlist("run_id"),
        request.query_params.getlist("key") or None,
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    # Hand Arrow's buffer to the response as is: no second copy of a large history.
    return Response(memoryview(sink.getvalue()), media_type=ARROW_STREAM)
