"""Security headers on every response.

Nothing the hub serves may be framed (embeddable views come with share links, issue 9), no
response may be sniffed into another type, and no address leaks through the Referer header.
HTML pages other than GraphiQL (which loads its own scripts) may load nothing from elsewhere.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
FRAMING_CSP = "frame-ancestors 'none'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        graphiql = scope["path"] == "/graphql" and scope["method"] == "GET"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault(
                    "Content-Security-Policy", FRAMING_CSP if graphiql else STRICT_CSP
                )
            await send(message)

        await self.app(scope, receive, with_headers)
