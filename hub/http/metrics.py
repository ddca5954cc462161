"""Columnar metric endpoints: Arrow IPC in (ingest) and out (full-resolution history)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hub.http.body import read_limited
from hub.http.streams import Chunks
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


async def _ipc_stream(batches: AsyncIterator[pa.RecordBatch]) -> AsyncIterator[bytes]:
    sink = Chunks()
    writer = pa.ipc.new_stream(sink, metrics.HISTORY_SCHEMA)
    yield sink.take()
    async for batch in batches:
        writer.write_batch(batch)
        yield sink.take()
    writer.close()
    yield sink.take()


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
    return StreamingResponse(_ipc_stream(batches), media_type=ARROW_STREAM)
