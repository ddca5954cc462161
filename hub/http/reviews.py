"""What a review's samples point at, fetched through the hub (see ``services.review_files``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import InvalidInput
from hub.services.registry import review_files


async def sample_image(request: Request) -> Response:
    """``GET /api/v1/reviews/{review_id}/samples/{position}/image?column=…``: the image the
    sample names in that column, for those who may judge it."""
    hub = request.app.state.hub
    try:
        position = int(request.path_params["position"])
    except ValueError:
        raise InvalidInput("A sample's position is a whole number.", field="position") from None
    column = request.query_params.get("column", "")
    if not column:
        raise InvalidInput("Name the column that holds the image (?column=…).", field="column")
    principal, review_id = request.state.principal, request.path_params["review_id"]
    image = await review_files.sample_image(
        hub.store, hub.settings, principal, review_id, position, column
    )
    # Private: reviewers' rights are checked each time; nosniff comes with every answer.
    headers = {"Cache-Control": "private, max-age=300"}
    return Response(image.content, media_type=image.media_type, headers=headers)
