"""The one mapping from exceptions to HTTP responses."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.errors import RateLimited, SalonError

log = logging.getLogger("salon.http")


def error_response(exc: SalonError) -> JSONResponse:
    body: dict[str, str] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def salon_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SalonError)
    return error_response(exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    error_id = secrets.token_hex(4)
    log.error(
        "unexpected error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc
    )
    return JSONResponse(
        {"error": "internal", "message": f"Unexpected error (id {error_id}); see the hub's log."},
        status_code=500,
    )
