"""The GraphQL endpoint: Strawberry's ASGI view with Salon's per-request context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from hub.api.context import Context, Loaders


class GraphQLView(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        hub: Any = request.app.state.hub
        principal = request.scope.get("state", {}).get("principal")
        return Context(
            store=hub.store,
            settings=hub.settings,
            principal_or_none=principal,
            loaders=Loaders(hub.store, principal),
            auth=hub.authenticator,
            keys=hub.keys,
        )
