"""The hub: one Starlette app that owns the store and serves GraphQL and the HTTP endpoints."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hub import workers
from hub.api.schema import build_schema
from hub.auth.clients import dashboard_redirect_uris, ensure_dashboard_client
from hub.auth.keys import KeyRing
from hub.auth.provider import Provider
from hub.auth.routes import SignIn, auth_routes
from hub.auth.sessions import Sessions, discover
from hub.errors import SalonError
from hub.http import (
    audit,
    backups,
    datasets,
    health,
    metrics,
    mlflow,
    privacy,
    prometheus,
    reviews,
    run_batches,
    share,
)
from hub.http.auth import AuthMiddleware
from hub.http.body import GraphQLBodyLimit
from hub.http.errors import salon_error_handler, unexpected_error_handler
from hub.http.graphql import GraphQLView, graphiql_file
from hub.http.headers import SecurityHeaders
from hub.http.prometheus import HubMetrics, RequestMetrics
from hub.logs import RequestIds
from hub.services.collaboration.live import Live
from hub.services.identity import accounts
from hub.services.identity.authentication import Authenticator
from hub.services.policy.audit_trail import write_checkpoint
from hub.services.policy.keep import keep_for, secret
from hub.settings import Settings
from hub.store import Store, store_for

log = logging.getLogger("salon")
GRAPHQL_MAX_BODY = 1024 * 1024  # documents are small; bulk data uses the Arrow endpoints


@dataclasses.dataclass
class Hub:
    """What request handlers reach through ``request.app.state.hub``."""

    settings: Settings
    store: Store
    authenticator: Authenticator
    keys: KeyRing
    live: Live
    schema: strawberry.Schema
    metrics: HubMetrics = dataclasses.field(default_factory=HubMetrics)


# How old a leftover must be before a starting hub removes it when other hubs share the store:
# theirs may be an upload between storing its object and recording its version.
LEFTOVER_SECONDS = 3600.0


def _clean_up(store: Store) -> None:
    """What an interrupted upload or a crash left behind: scratch files, and objects that no
    dataset version or artifact refers to. Nothing of this hub is in flight before the app
    starts; other hubs sharing the store may be mid-upload, so theirs are left an hour."""
    older_than = LEFTOVER_SECONDS if store.shared else 0.0
    scratch = store.scratch
    if scratch.is_dir():
        before = time.time() - older_than
        for leftover in scratch.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if not older_than or leftover.stat().st_mtime <= before:
                    leftover.unlink()
    removed = store.objects.sweep(store.referenced_objects_sync(), older_than)
    if removed:
        log.info("Removed %d stored objects no dataset version refers to", removed)


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """The ASGI app. A store passed in stays the caller's to close; one opened here is closed
    when the app shuts down."""
    owns_store = store is None
    store = store or store_for(settings)
    _clean_up(store)
    authenticator = Authenticator(store, settings)
    keep = keep_for(store, settings.data_dir)
    keys = KeyRing(keep)
    provider = Provider(settings.url, store, keys, settings.access_token_minutes * 60)
    provider.on_sessions_ended.append(authenticator.cache.clear)
    sessions = Sessions(store, keys, settings.url, authenticator.cache)
    authenticator.sessions = sessions
    ensure_dashboard_client(store, settings)
    signin = SignIn(secret(keep, "cookie-secret"), settings.url.startswith("https:"))
    return_origins = sorted(
        {"/".join(uri.split("/")[:3]) for uri in dashboard_redirect_uris(settings)}
    )
    schema = build_schema(settings)
    hub = Hub(settings, store, authenticator, keys, Live(store), schema)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.oidc_discovery_url:
            try:
                sessions.outside = await discover(
                    settings.oidc_discovery_url,
                    settings.oidc_audiences,
                    settings.oidc_groups_claim,
                )
            except Exception as exc:
                log.error(
                    "Cannot read the sign-in provider at %s (%s); its tokens are refused until "
                    "the hub restarts.",
                    settings.oidc_discovery_url,
                    exc,
                )
        await accounts.prepare_sign_ins()
        running = workers.start(store, settings, keys)
        log.info("Salon hub ready on %s", store.describe())
        yield
        await running.stop()
        if not store.shared:  # hubs sharing a database: the holder of the lease signs it
            write_checkpoint(store, keep, keys.sign_bytes)
        hub.live.close()
        if owns_store:
            store.close()

    graphql = GraphQLView(
        schema,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=False,
    )
    app = Starlette(
        routes=[
            Route("/", health.index),
            Route("/healthz", health.healthz),
            Route("/readyz", health.readyz),
            Route("/metrics", prometheus.export, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/api/v1/runs/batch", run_batches.apply, methods=["POST"]),
            Route("/api/v1/runs/{run_id}/metrics", metrics.ingest_metrics, methods=["POST"]),
            Route("/api/v1/metrics", metrics.metric_history, methods=["GET"]),
            Route("/api/v1/audit/export", audit.export, methods=["GET"]),
            Route("/api/v1/people/{name}/export", privacy.export, methods=["GET"]),
            Route("/api/v1/backups", backups.create, methods=["POST"]),
            Route(
                "/api/v1/projects/{project}/datasets/{dataset}/versions",
                datasets.upload,
                methods=["POST"],
            ),
            Route(
                "/api/v1/projects/{project}/datasets/{dataset}/register",
                datasets.register,
                methods=["POST"],
            ),
            Route(
                "/api/v1/projects/{project}/datasets/{dataset}/versions/{version}/data",
                datasets.download,
                methods=["GET"],
            ),
            Route(
                "/api/v1/reviews/{review_id}/samples/{position}/image",
                reviews.sample_image,
                methods=["GET"],
            ),
            Route("/api/share/view", share.view, methods=["GET"]),
            Route("/api/share/snapshot.{kind:str}", share.snapshot, methods=["GET"]),
            Route("/static/plotly-{version:str}.min.js", share.plotly_js, methods=["GET"]),
            Route("/static/graphiql/{name:str}", graphiql_file, methods=["GET"]),
            Route("/oembed", share.oembed, methods=["GET"]),
            *mlflow.routes(),
            *auth_routes(provider, store, authenticator, signin, return_origins),
        ],
        middleware=[
            Middleware(RequestIds),
            Middleware(RequestMetrics, metrics=hub.metrics),
            *proxy_headers(settings),
            Middleware(SecurityHeaders),
            Middleware(GraphQLBodyLimit, limit=GRAPHQL_MAX_BODY),
            Middleware(AuthMiddleware, authenticator=authenticator),
        ],
        exception_handlers={SalonError: salon_error_handler, Exception: unexpected_error_handler},
        lifespan=lifespan,
    )
    app.state.hub = hub
    return app


def proxy_headers(settings: Settings) -> list[Middleware]:
    """X-Forwarded-For is believed only from ``SALON_TRUSTED_PROXIES`` (uvicorn's middleware
    takes the rightmost address that is not a trusted proxy); servers run the app with
    uvicorn's own handling off, which would trust any local process."""
    if not settings.trusted_proxies.strip():
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)]
