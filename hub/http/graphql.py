"""The GraphQL endpoint: Strawberry's ASGI view with Salon's per-request context.

Queries and mutations come over HTTP, authenticated by the middleware. Subscriptions come over
a WebSocket (graphql-transport-ws), which browsers cannot send an Authorization header on: the
client sends its token in ``connection_init`` (``{"authorization": "Bearer …"}``), checked like
any bearer token before anything else is accepted. Pages on other origins may not open one
(Strawberry refuses cross-origin handshakes).
"""

from __future__ import annotations

from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.unset import UnsetType

from hub.api.context import Context, Loaders, context_for
from hub.errors import Unauthenticated
from hub.http.auth import client_address


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


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

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
