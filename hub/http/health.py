"""Liveness and readiness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from hub import __version__
from hub.services.operations import health


async def healthz(request: Request) -> Response:
    """200 once the hub has opened its store; used by `salon up`, CI and containers."""
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    """200 when the database answers and the object store takes files, else 503 with the part
    that failed; no token needed (it tells nothing about the data)."""
    checks = await health.readiness(request.app.state.hub.store)
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {check.name: check.detail for check in checks},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def index(request: Request) -> Response:
    return PlainTextResponse(
        "Salon hub. GraphQL and GraphiQL at /graphql (send 'Authorization: Bearer <token>'); "
        "liveness at /healthz, readiness at /readyz.\n"
    )
