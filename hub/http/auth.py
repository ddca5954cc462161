"""Authentication in front of every route but the public ones."""

from __future__ import annotations

import base64

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import Unauthenticated
from hub.http.errors import error_response
from hub.http.mlflow import PREFIXES as MLFLOW_PREFIXES
from hub.http.mlflow.protocol import error as mlflow_error
from hub.services.identity.authentication import Authenticator

PUBLIC_PATHS = ("/healthz", "/readyz", "/", "/oembed")
# Share links carry their own credential, checked by the handler (hub.http.share).
PUBLIC_PREFIXES = ("/oauth/", "/.well-known/", "/login", "/logout", "/static/", "/api/share/")


def _is_public(scope: Scope, headers: Headers) -> bool:
    path = scope["path"]
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return True
    # GraphiQL itself is a static page; every query it sends carries the token.
    return (
        path == "/graphql" and scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    )


def _bearer_from_basic(authorization: str | None) -> str | None:
    """MLflow clients configured with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD send
    Basic credentials; the password is a Salon API token (the user name is not checked)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return authorization
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return authorization
    _, _, password = decoded.partition(":")
    return f"Bearer {password}" if password else authorization


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
        authorization = headers.get("authorization")
        is_mlflow = scope["path"].startswith(MLFLOW_PREFIXES)
        if is_mlflow:
            authorization = _bearer_from_basic(authorization)
        try:
            principal = await self.authenticator.authenticate(authorization, client_address(scope))
        except Unauthenticated as exc:
            answer = mlflow_error(exc) if is_mlflow else error_response(exc)
            await answer(scope, receive, send)
            return
        scope["state"]["principal"] = principal
        await self.app(scope, receive, send)
