"""Reading request bodies within a size limit, without buffering more than the limit."""

from __future__ import annotations

from starlette.requests import Request

from hub.errors import InvalidInput, LimitExceeded


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or LimitExceeded as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("The Content-Length header is not a number.")
        if int(declared) > limit:
            raise LimitExceeded(
                f"The body is {int(declared)} bytes; the limit is {limit} "
                "(SALON_MAX_UPLOAD_BYTES). Send smaller batches."
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise LimitExceeded(
                f"The body passed the limit of {limit} bytes (SALON_MAX_UPLOAD_BYTES). "
                "Send smaller batches."
            )
        chunks.append(chunk)
    return b"".join(chunks)
