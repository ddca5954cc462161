"""Authentication in front of every route but the public ones."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import Unauthenticated
from hub.http.errors import error_response
from hub.services.authentication import Authenticator

PUBLIC_PATHS = ("/healthz", "/")
PUBLIC_PREFIXES = ("/oauth/", "/.well-known/", "/login", "/logout", "/static/")


def _is_public(scope: Scope, headers: Headers) -> bool:
    path = scope["path"]
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return True
    # GraphiQL itself is a static page; every query it sends carries the token.
    return (
        path == "/graphql" and scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    )


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return None if not client else str(client[0])


class AuthMiddleware:
    """Puts the caller's :class:`Principal` in ``scope["state"]["principal"]`` or answers 401
    (429 after too many failures from one address)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope.setdefault("state", {})
        if scope["type"] == "websocket" or _is_public(scope, headers):
            # WebSocket connections authenticate in connection_init (hub.http.graphql).
            scope["state"]["principal"] = None
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(
                headers.get("authorization"), client_address(scope)
            )
        except Unauthenticated as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope["state"]["principal"] = principal
        await self.app(scope, receive, send)
