"""A person's data as one archive (admins and compliance officers)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.services.lifecycle import privacy


async def export(request: Request) -> Response:
    """GET /api/v1/people/{name}/export: a ZIP of everything Salon holds about the person."""
    hub = request.app.state.hub
    found = await privacy.export(hub.store, request.state.principal, request.path_params["name"])
    headers = {
        "Content-Disposition": f'attachment; filename="{found.file_name}"',
        "Cache-Control": "no-store",
    }
    return Response(found.archive, media_type="application/zip", headers=headers)
