"""Liveness and readiness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response


async def healthz(request: Request) -> Response:
    """200 once the hub has opened its store; used by `salon up`, CI and containers."""
    from hub import __version__

    return JSONResponse({"status": "ok", "version": __version__})


async def index(request: Request) -> Response:
    return PlainTextResponse(
        "Salon hub. GraphQL and GraphiQL at /graphql (send 'Authorization: Bearer <token>'); "
        "health at /healthz.\n"
    )
