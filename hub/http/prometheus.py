"""``/metrics`` in Prometheus's text format (prometheus-client): requests by route and status
with their latency, metric points ingested, the webhook outbox's depth, the database's size and
how frequent reads were answered.

Requests are counted by route template (``/api/v1/runs/{run_id}/metrics``), never by the path
itself, so that ids do not blow up the number of series. Each app has its own registry (tests run
several hubs in one process). Only site admins read it: a Prometheus job sends an admin's
read-only token (``authorization: credentials_file``).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.services.operations import operations

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HubMetrics:
    """The hub's own series, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "salon_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "salon_http_request_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.points = Counter(
            "salon_metric_points_ingested",
            "Metric points stored (Arrow ingest, GraphQL, MLflow).",
            registry=self.registry,
        )
        self.stored_points = Gauge(
            "salon_metric_points",
            "Metric points stored, by every way in (Arrow, GraphQL, MLflow, imports).",
            registry=self.registry,
        )
        self.digests = Gauge(
            "salon_digests_due",
            "Digests due to be sent (the queue the digest sender works through).",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "salon_webhook_outbox_pending",
            "Webhook messages waiting to be delivered.",
            registry=self.registry,
        )
        self.database = Gauge(
            "salon_database_bytes",
            "Size of the DuckDB file and its write-ahead log.",
            registry=self.registry,
        )
        self.objects = Gauge(
            "salon_object_files",
            "Files in the object store (artifacts, dataset versions).",
            registry=self.registry,
        )
        self.kept_reads = Gauge(
            "salon_kept_reads",
            "Frequent reads since the hub started, by how they were answered: kept (from "
            "memory, no change since), joined (the same read under way) or read.",
            ["answered"],
            registry=self.registry,
        )
        self.changes = Gauge(
            "salon_changes",
            "Changes committed since the hub started (counted=changes) and the transactions "
            "they were committed in (counted=transactions: fewer when changes that arrived "
            "together were committed as one group).",
            ["counted"],
            registry=self.registry,
        )


class RequestMetrics:
    """Counts and times every HTTP request by the route it matched."""

    def __init__(self, app: ASGIApp, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", "unmatched"))
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)


async def export(request: Request) -> Response:
    """``GET /metrics`` (site admins): every series, the gauges read now."""
    hub = request.app.state.hub
    state = await operations.state(hub.store, request.state.principal)
    metrics: HubMetrics = hub.metrics
    metrics.outbox.set(state.outbox_pending)
    metrics.database.set(state.database_bytes)
    metrics.objects.set(state.object_files)
    metrics.stored_points.set(state.metric_points)
    metrics.digests.set(state.digests_due)
    for answered, count in state.kept_reads.items():
        metrics.kept_reads.labels(answered).set(count)
    for counted, count in state.changes.items():
        metrics.changes.labels(counted).set(count)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
