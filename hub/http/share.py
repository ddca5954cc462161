"""What share links serve: a view's data, oEmbed, and static snapshots.

These routes need no account: the link's secret is the credential, checked on every request
(``X-Salon-Link`` for the data the dashboard's embed page draws, ``?link=`` for snapshots,
which wikis fetch as images). A signed-in viewer may add their own ``Authorization`` (links
made for signed-in people only need it).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from hub.api.context import context_for
from hub.api.share_views import renderer
from hub.clock import now
from hub.domain.collaboration import ShareLinkRecord
from hub.errors import InvalidInput, NotFound
from hub.http import snapshots
from hub.http.auth import client_address
from hub.services.collaboration import share_links
from hub.services.policy.principal import Principal

PNG_REUSE_SECONDS = 60.0
_pictures: dict[str, tuple[float, bytes]] = {}  # link id: (drawn at, PNG), for a minute


async def _viewer(request: Request) -> Principal | None:
    """The signed-in person looking, when they sent their own credentials."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    hub: Any = request.app.state.hub
    viewer: Principal = await hub.authenticator.authenticate(
        authorization, client_address(request.scope)
    )
    return viewer


async def _open(request: Request, secret: str) -> tuple[ShareLinkRecord, dict[str, Any]]:
    """The link and its view's data, the view audited; or the reason it cannot be shown."""
    hub: Any = request.app.state.hub
    address = client_address(request.scope)
    read = renderer(hub.schema, context_for(hub, None, address))
    return await share_links.show(hub.store, secret, await _viewer(request), address, read)


def _secret(request: Request) -> str:
    secret = request.headers.get("x-salon-link") or request.query_params.get("link")
    if not secret:
        raise share_links.LinkRefused("This address has no share link in it.")
    return secret


async def view(request: Request) -> Response:
    """``GET /api/share/view``: the data of the link's view, with what the page needs to say
    about it."""
    secret = _secret(request)
    link, data = await _open(request, secret)
    settings = request.app.state.hub.settings
    body = {
        "link": {
            "id": link.id,
            "view": link.view,
            "title": link.title,
            "createdBy": link.created_by_name,
            "expiresAt": link.expires_at.isoformat(),
            "url": share_links.share_url(settings, secret),
            "embedHtml": share_links.embed_html(settings, secret, link),
            "snapshots": share_links.snapshot_urls(settings, secret, link),
        },
        "data": data,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def oembed(request: Request) -> Response:
    """``GET /oembed?url=…``: what wikis and chat tools need to show a pasted share link as
    the live view (https://oembed.com, type ``rich``)."""
    settings = request.app.state.hub.settings
    given = request.query_params.get("url", "")
    fmt = request.query_params.get("format", "json")
    if fmt != "json":
        return Response("Only format=json is served.", status_code=501)
    if not given or len(given) > 2048:
        raise InvalidInput("Pass the share link as ?url=…", field="url")
    secret = share_links.secret_in(given, settings)
    if secret is None:
        raise NotFound("That is not a share link of this Salon.", field="url")
    hub: Any = request.app.state.hub
    link, _ = await share_links.open_link(hub.store, secret, None, client_address(request.scope))
    width = _bounded(request.query_params.get("maxwidth"), 600)
    height = _bounded(request.query_params.get("maxheight"), share_links.height_of(link))
    frame = share_links.embed_html(settings, secret, link, width, height)
    body = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Salon",
        "provider_url": settings.dashboard_url,
        "title": link.title,
        "author_name": link.created_by_name,
        "html": frame,
        "width": width,
        "height": height,
        "cache_age": 300,
    }
    return JSONResponse(body)


def _bounded(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{raw[:20]!r} is not a number of pixels.") from None
    return max(200, min(default, value))


async def snapshot(request: Request) -> Response:
    """``GET /api/share/snapshot.png`` or ``.html``: the view drawn now, as a picture or as a
    page that loads nothing from anywhere."""
    kind = request.path_params["kind"]
    if kind not in ("png", "html"):
        raise NotFound("Snapshots come as .png or .html.")
    secret = _secret(request)
    link, data = await _open(request, secret)
    if kind == "html":
        settings = request.app.state.hub.settings
        # plotly.js from the hub, cached once for every snapshot; inline on request, for a
        # copy to keep that loads nothing from anywhere.
        inline = request.query_params.get("inline", "").lower() in ("1", "true", "yes")
        script = None if inline else plotly_js_url(settings.url)
        text = snapshots.page(
            link.view, link.title, data, share_links.share_url(settings, secret), now(), script
        )
        headers = {
            "Cache-Control": "no-store",
            "Content-Security-Policy": snapshot_csp(settings.url),
            "Content-Disposition": f'inline; filename="{_file_name(link)}.html"',
        }
        return Response(text, media_type="text/html; charset=utf-8", headers=headers)
    picture = await _png(link, data)
    return Response(picture, media_type="image/png", headers={"Cache-Control": "no-store"})


def plotly_js_url(hub_url: str) -> str:
    """Where the hub serves plotly.js, named by its version so browsers may keep it forever."""
    return f"{hub_url.rstrip('/')}/static/plotly-{snapshots.PLOTLY_JS_VERSION}.min.js"


def snapshot_csp(hub_url: str) -> str:
    """Scripts only inline or from the hub (plotly.js); nothing else from anywhere."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(hub_url))
    return (
        f"default-src 'none'; script-src 'self' {origin} 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


async def plotly_js(request: Request) -> Response:
    """``GET /static/plotly-VERSION.min.js``: the plotly.js HTML snapshots load (public, as on
    any CDN; only the version the hub ships)."""
    if request.path_params["version"] != snapshots.PLOTLY_JS_VERSION:
        raise NotFound(f"This hub serves plotly.js {snapshots.PLOTLY_JS_VERSION} only.")
    return FileResponse(
        snapshots.PLOTLY_JS,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


def _file_name(link: ShareLinkRecord) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in link.title)[:60] or "salon"


async def _png(link: ShareLinkRecord, data: dict[str, Any]) -> bytes:
    if link.view not in share_links.CHART_VIEWS:
        raise InvalidInput("Only charts have a PNG snapshot; use the HTML snapshot for cards.")
    at = time.monotonic()
    for stale in [key for key, (drawn, _) in _pictures.items() if at - drawn > PNG_REUSE_SECONDS]:
        _pictures.pop(stale, None)
    if link.id in _pictures:
        return _pictures[link.id][1]
    try:
        picture = await run_in_threadpool(snapshots.png, link.view, data, link.title)
    except Exception as exc:  # Kaleido could not start a browser
        raise snapshots.DrawingUnavailable(
            f"The PNG could not be drawn ({type(exc).__name__}); install Chromium "
            "(apt-get install chromium) and pip install 'salon[snapshots]', or use the HTML "
            "snapshot."
        ) from exc
    _pictures[link.id] = (time.monotonic(), picture)
    return picture
