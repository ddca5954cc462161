"""Dataset files over HTTP: upload a version (streamed to disk), download one as Arrow."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hub.errors import InvalidInput
from hub.http.body import read_limited, save_limited
from hub.http.streams import ARROW_STREAM, written
from hub.services.data import dataset_uploads, datasets


async def upload(request: Request) -> Response:
    """POST /api/v1/projects/{project}/datasets/{dataset}/versions?filename=…&message=…
    with the file as the body (CSV or Parquet; ``format`` when the name does not say)."""
    hub = request.app.state.hub
    params = request.query_params
    filename = params.get("filename", "upload")
    # Refuse before reading the body: a bad format, or a caller who may not write there.
    dataset_uploads.kind_of(filename, params.get("format"))
    await dataset_uploads.may_upload(
        hub.store,
        request.state.principal,
        request.path_params["project"],
        request.path_params["dataset"],
        params.get("message", ""),
    )
    source = hub.store.scratch_file(".upload")
    try:
        _, digest = await save_limited(request, source, hub.settings.max_dataset_bytes)
        version, created = await dataset_uploads.upload(
            hub.store,
            hub.settings,
            request.state.principal,
            request.path_params["project"],
            request.path_params["dataset"],
            source,
            filename,
            params.get("format"),
            params.get("message", ""),
            hand_over=True,
            sha256=digest,
        )
    finally:
        source.unlink(missing_ok=True)
    return JSONResponse(
        {
            "version": version.number,
            "rows": version.row_count,
            "bytes": version.size_bytes,
            "created": created,
            "id": version.id,
        },
        status_code=201 if created else 200,
    )


async def register(request: Request) -> Response:
    """POST /api/v1/projects/{project}/datasets/{dataset}/register with JSON
    ``{"path": "/data/…/file.parquet", "message": "…"}``: a version made of a file on the hub's
    machine that stays where it is (inside ``SALON_DATASET_ROOTS``)."""
    hub = request.app.state.hub
    body = await read_limited(request, 64 * 1024)
    try:
        data = json.loads(body)
        path, message = str(data["path"]), str(data.get("message", ""))
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            'Send JSON like {"path": "/data/file.parquet", "message": "…"}.'
        ) from None
    version, created = await dataset_uploads.register(
        hub.store,
        hub.settings,
        request.state.principal,
        request.path_params["project"],
        request.path_params["dataset"],
        path,
        message,
    )
    return JSONResponse(
        {
            "version": version.number,
            "rows": version.row_count,
            "bytes": version.size_bytes,
            "created": created,
            "id": version.id,
        },
        status_code=201 if created else 200,
    )


async def download(request: Request) -> Response:
    """GET /api/v1/projects/{project}/datasets/{dataset}/versions/{version}/data, ``version``
    a number or ``latest``: every row as an Arrow IPC stream."""
    hub = request.app.state.hub
    principal = request.state.principal
    wanted = request.path_params["version"]
    if wanted != "latest" and not wanted.isdigit():
        raise InvalidInput("The version is a number or 'latest'.", field="version")
    found = await datasets.find(
        hub.store,
        principal,
        request.path_params["project"],
        request.path_params["dataset"],
        action="dataset.download",
    )
    record = await datasets.version(hub.store, found, None if wanted == "latest" else int(wanted))
    batches = await datasets.download(hub.store, principal, found, record)
    return StreamingResponse(
        written(batches, "arrow"),
        media_type=ARROW_STREAM,
        headers={"X-Salon-Version": str(record.number), "X-Salon-Rows": str(record.row_count)},
    )
