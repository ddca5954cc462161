"""Reading request bodies within a size limit, without buffering more than the limit."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import InvalidInput, LimitExceeded
from hub.http.errors import error_response


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


class GraphQLBodyLimit:
    """Refuse GraphQL requests whose body passes ``limit`` bytes (413), even when chunked."""

    def __init__(self, app: ASGIApp, limit: int, path: str = "/graphql") -> None:
        self.app = app
        self.limit = limit
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await error_response(self._too_big())(scope, receive, send)
            return
        # Documents are small: read the body here (up to the limit), then replay it.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await error_response(self._too_big())(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_big(self) -> LimitExceeded:
        """Made only for a request that is refused (an exception is not free to build)."""
        return LimitExceeded(
            f"GraphQL requests are limited to {self.limit} bytes; use variables and smaller "
            "documents, or the Arrow endpoints for bulk data."
        )


async def save_limited(request: Request, target: Path, limit: int) -> tuple[int, str]:
    """Stream the request body into ``target`` (never whole in memory); LimitExceeded past
    ``limit`` bytes, with the partial file removed. Returns the size and the SHA-256 of the
    bytes, hashed as they arrive (the object store names files by it: hashing the file again
    afterwards took 0.3-0.4 s of a 499 MB upload)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise LimitExceeded(f"The upload is {int(declared):,} bytes; the limit is {limit:,}.")
    size = 0
    digest = hashlib.sha256()
    try:
        with target.open("wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise LimitExceeded(f"The upload is larger than the limit of {limit:,} bytes.")
                handle.write(chunk)
                digest.update(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()
