"""Exporting the audit trail as CSV or Parquet (admins and compliance officers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hub.clock import now
from hub.domain.audit import AuditQuery
from hub.errors import InvalidInput
from hub.http.streams import written
from hub.services.policy import audit_trail

FORMATS = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
_FILTERS = ("actor_id", "project_id", "object_kind", "object_id", "action", "outcome")


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO date or time, e.g. 2026-11-01.") from None


def _query(request: Request) -> AuditQuery:
    params = request.query_params
    filters: dict[str, Any] = {name: params.get(name) or None for name in _FILTERS}
    return AuditQuery(
        **filters,
        since=_when(params.get("since"), "since"),
        until=_when(params.get("until"), "until"),
    )


async def export(request: Request) -> Response:
    """GET /api/v1/audit/export?format=csv|parquet&actor_id=…&since=… (streamed)."""
    kind = request.query_params.get("format", "csv")
    if kind not in FORMATS:
        raise InvalidInput("format must be csv or parquet.", field="format")
    hub = request.app.state.hub
    batches = await audit_trail.export_events(hub.store, request.state.principal, _query(request))
    name = f"salon-audit-{now():%Y%m%d-%H%M%S}.{kind}"
    return StreamingResponse(
        written(batches, kind),
        media_type=FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
