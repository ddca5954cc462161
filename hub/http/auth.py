"""Bearer-token authentication in front of every route but the public ones."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import Unauthenticated
from hub.http.errors import error_response
from hub.services.tokens import TokenCache, authenticate
from hub.store import Store

PUBLIC_PATHS = ("/healthz", "/")


def _is_public(scope: Scope, headers: Headers) -> bool:
    path = scope["path"]
    if path in PUBLIC_PATHS:
        return True
    # GraphiQL itself is a static page; every query it sends carries the token.
    return (
        path == "/graphql" and scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    )


class TokenAuthMiddleware:
    """Puts the caller's :class:`Principal` in ``scope["state"]["principal"]`` or answers 401."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store
        self.cache = TokenCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope.setdefault("state", {})
        if _is_public(scope, headers):
            scope["state"]["principal"] = None
            await self.app(scope, receive, send)
            return
        try:
            principal = await authenticate(self.store, headers.get("authorization"), self.cache)
        except Unauthenticated as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope["state"]["principal"] = principal
        await self.app(scope, receive, send)
