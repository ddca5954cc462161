"""The GraphQL endpoint: Strawberry's ASGI view with Salon's per-request context.

Queries and mutations come over HTTP, authenticated by the middleware. Subscriptions come over
a WebSocket (graphql-transport-ws), which browsers cannot send an Authorization header on: the
client sends its token in ``connection_init`` (``{"authorization": "Bearer …"}``), checked like
any bearer token before anything else is accepted. Pages on other origins may not open one
(Strawberry refuses cross-origin handshakes).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSyntaxError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from hub.api.context import Context, Loaders, context_for
from hub.errors import Unauthenticated
from hub.http.auth import client_address
from hub.priority import first


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws as Strawberry speaks it, except that a subscription that does not
    parse gets an ``error`` message with the syntax error, as the protocol describes for
    errors before execution: Strawberry closed the whole socket (every other subscription on
    it with it)."""

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        if isinstance(error, GraphQLSyntaxError):
            return None
        return BaseGraphQLTransportWSHandler._get_pre_execution_close_reason(error)


# GraphiQL's scripts and styles, served by the hub itself (hub/http/graphiql, the same bytes as
# on the CDN, so the page's integrity hashes hold): it works where no CDN can be reached.
GRAPHIQL_FILES = Path(__file__).with_name("graphiql")
GRAPHIQL_CDN = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom.production.min.js"
    ),
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
        "plugin-explorer.umd.js"
    ),
}


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    @property
    def graphql_ide_html(self) -> str:
        """Strawberry's GraphiQL page, loading its files from the hub instead of unpkg.com."""
        page = super().graphql_ide_html
        for address, name in GRAPHIQL_CDN.items():
            page = page.replace(address, f"/static/graphiql/{name}")
        if "unpkg.com" in page:  # Strawberry moved to other versions: vendor them too
            raise RuntimeError("GraphiQL's page names files the hub does not serve.")
        return page

    def encode_json(self, data: object) -> str | bytes:
        """Answers as JSON text, by orjson: the curves of a chart are thousands of numbers,
        which the standard library encodes several times slower. Text, not bytes: WebSocket
        messages of graphql-transport-ws must be text frames. What orjson refuses (an integer
        past 64 bits) goes through the standard library."""
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            return super().encode_json(data)

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,  # Strawberry's own, of a package it brings (cross_web)
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """A mutation runs on the changes' own event loop (``hub.priority``), a query here. (A
        mutation sent over a WebSocket runs on this loop, as a query does.)"""
        work = super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if is_mutation(request_data.query, request_data.operation_name):
            return await first(work)
        return await work

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        principal = request.scope.get("state", {}).get("principal")
        return context_for(request.app.state.hub, principal, client_address(request.scope))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        given = params.get("authorization") or params.get("Authorization")
        if given is None and isinstance(params.get("token"), str):
            given = f"Bearer {params['token']}"
        try:
            principal = await context.auth.authenticate(
                given if isinstance(given, str) else None, context.address
            )
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from None
        context.principal_or_none = principal
        context.loaders = Loaders(context.store, principal)
        return {"user": principal.user_name}


@functools.lru_cache(maxsize=512)  # clients send the same few documents
def is_mutation(query: str | None, operation_name: str | None) -> bool:
    """Whether the document's operation (the one named, or its only one) is a mutation; False
    for a document that does not parse or name one, which Strawberry answers with the error."""
    if not query:
        return False
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.MUTATION


_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


async def graphiql_file(request: Request) -> Response:
    """``GET /static/graphiql/NAME``: one of GraphiQL's files, stored gzipped and sent so."""
    name = request.path_params["name"]
    if name not in GRAPHIQL_CDN.values():
        return Response("Not found.", status_code=404, media_type="text/plain")
    return FileResponse(
        GRAPHIQL_FILES / f"{name}.gz",
        media_type=_TYPES[Path(name).suffix],
        headers={"Content-Encoding": "gzip", "Cache-Control": "public, max-age=86400"},
    )
