"""The hub's logs: plain text for people, or one JSON object a line for log collectors
(``SALON_LOG_FORMAT=json``), each line of a request carrying its request id.

A request's id is the caller's ``X-Request-ID`` when it is a plain token (a proxy's or a
client's, so that their logs and Salon's can be joined), or a new one; it is sent back in the
answer's ``X-Request-ID``. Every request is logged once it is answered (``salon.access``: method,
route template, the GraphQL operation's name when it has one, status and milliseconds).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("salon_request_id", default=None)
# The GraphQL operations a request ran, filled in as they run: a list, so that names set
# where the context was copied still reach the request's access line.
_OPERATIONS: ContextVar[list[str] | None] = ContextVar("salon_operations", default=None)
_GIVEN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
access = logging.getLogger("salon.access")


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, and the
    traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, form: str) -> None:
    """The root logger writes ``form`` (text or json) at ``level``; uvicorn's loggers go
    through it too."""
    handler = logging.StreamHandler()
    handler.addFilter(_WithRequestId())
    if form == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


def name_operation(name: str) -> None:
    """Put a GraphQL operation's name on the access line of the request running it."""
    names = _OPERATIONS.get()
    if names is not None:
        names.append(name if _NAME.match(name) else "?")  # a GraphQL name, never other text


class RequestIds:
    """Gives every HTTP request an id (see the module), and logs it once answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GIVEN.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        operations: list[str] = []
        named = _OPERATIONS.set(operations)
        started, status = time.perf_counter(), 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            route = getattr(scope.get("route"), "path", scope.get("path", ""))
            if operations:
                route = f"{route} {','.join(operations)}"
            took = (time.perf_counter() - started) * 1000
            access.info("%s %s %d %.0f ms", scope["method"], route, status, took)
            _OPERATIONS.reset(named)
            REQUEST_ID.reset(token)
