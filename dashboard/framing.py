"""Who may frame the dashboard, and oEmbed discovery on share pages.

Share pages (``/shared?link=…``) may be framed by the wiki origins in ``SALON_EMBED_ORIGINS``
(the same setting the hub reads) and by the dashboard itself; every other page (sign-in,
settings, the rest of the app) refuses to be framed. Share pages also announce their oEmbed
endpoint in ``<link>`` tags, so that wikis and chat tools which understand oEmbed turn a pasted
link into the live view.
"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import parse_qs, quote

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.config import settings

log = logging.getLogger("salon.dashboard")

SHARE_PATH = "/shared"
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


def embed_origins(raw: str | None = None) -> list[str]:
    """The wiki origins allowed to frame share pages (``https://wiki.example.com``, or
    ``https://*.atlassian.net`` for every subdomain); anything else in the setting is ignored
    with a warning."""
    raw = settings().embed_origins if raw is None else raw
    origins = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        if _ORIGIN.match(item.rstrip("/")):
            origins.append(item.rstrip("/"))
        else:
            log.warning(
                "SALON_EMBED_ORIGINS: %r is not an origin like https://wiki.example.com", item
            )
    return origins


def frame_policy(path: str, query: str, origins: list[str]) -> str:
    """The Content-Security-Policy a document at ``path`` gets."""
    if path.rstrip("/").endswith(SHARE_PATH) and "link" in parse_qs(query):
        return "frame-ancestors " + " ".join(["'self'", *origins])
    return "frame-ancestors 'none'"


def discovery_tags(hub_url: str, page_url: str) -> bytes:
    """The oEmbed discovery links for a share page."""
    endpoint = f"{hub_url.rstrip('/')}/oembed?url={quote(page_url, safe='')}&format=json"
    return (
        f'<link rel="alternate" type="application/json+oembed" href="{html.escape(endpoint)}" '
        'title="Salon">'
    ).encode()


class FramePolicy:
    """ASGI middleware in front of Streamlit (``dashboard/serve.py``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.origins = embed_origins()
        self.hub_url = settings().url
        self.page_url = settings().dashboard_url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
        policy = frame_policy(path, query, self.origins)
        shared = policy != "frame-ancestors 'none'"
        document = {"html": False}

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                document["html"] = headers.get("content-type", "").startswith("text/html")
                if document["html"]:
                    headers["Content-Security-Policy"] = policy
                    if not shared:
                        headers["X-Frame-Options"] = "DENY"
                    if shared:
                        del headers["content-length"]  # discovery tags are added below
                    headers["Referrer-Policy"] = "no-referrer"
            elif message["type"] == "http.response.body" and shared and document["html"]:
                body = message.get("body", b"")
                if b"</head>" in body:
                    page = self._page_url(query)
                    tags = discovery_tags(self.hub_url, page)
                    message = {**message, "body": body.replace(b"</head>", tags + b"</head>", 1)}
            await send(message)

        await self.app(scope, receive, with_policy)

    def _page_url(self, query: str) -> str:
        """The share page's address (SALON_DASHBOARD_URL), without ``embed=true``."""
        link = parse_qs(query).get("link", [""])[0]
        return f"{self.page_url}{SHARE_PATH}?link={quote(link, safe='')}"
