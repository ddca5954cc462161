"""``POST /api/v1/backups``: back the running hub up into a folder on its machine (admins)."""

from __future__ import annotations

import dataclasses
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.errors import InvalidInput
from hub.http.body import read_limited
from hub.services.operations import backups


async def create(request: Request) -> Response:
    """Body ``{"destination": "/absolute/folder"}``; answers the backup's manifest."""
    hub = request.app.state.hub
    raw = await read_limited(request, 64 * 1024)
    try:
        destination = json.loads(raw or b"{}").get("destination")
    except (ValueError, AttributeError):
        raise InvalidInput('Send {"destination": "/absolute/folder"} as JSON.') from None
    if not isinstance(destination, str) or not destination.strip():
        raise InvalidInput('Send {"destination": "/absolute/folder"} as JSON.')
    made = await backups.backup(
        hub.store, hub.settings.data_dir, request.state.principal, destination.strip()
    )
    return JSONResponse(dataclasses.asdict(made))
