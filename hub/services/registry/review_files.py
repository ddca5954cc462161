"""The images a review's samples point at, read through the hub: reviewers see the picture of
the part, not its address, and need no keys of their own.

A sample's value may name an image as a run artifact (``runs:/RUN_ID/path/to/image.png``, as
MLflow writes them), a file under a folder of ``SALON_DATASET_ROOTS``, or an object under one
of its S3 prefixes, which the hub reads with its own keys. Nothing else is fetched (no web
addresses: the browser loads those itself), only images, and at most ``MAX_IMAGE_BYTES``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import PurePosixPath

from hub.errors import InvalidInput, LimitExceeded, NotFound
from hub.services.data.dataset_uploads import local_file, s3_object
from hub.services.data.datasets import MASK
from hub.services.policy.principal import Principal
from hub.services.registry import reviews
from hub.services.tracking import artifacts
from hub.settings import Settings
from hub.store import Store
from hub.store.remote import RemoteError, RemoteMissing

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Image:
    content: bytes
    media_type: str


def is_image_address(value: object) -> bool:
    """Whether a sample's value names an image the hub can fetch (not a web address)."""
    return (
        isinstance(value, str)
        and not value.startswith(("http://", "https://"))
        and PurePosixPath(value).suffix.lower() in IMAGE_TYPES
    )


async def sample_image(
    store: Store,
    settings: Settings,
    principal: Principal,
    queue_id: str,
    position: int,
    column: str,
) -> Image:
    """The image the sample at ``position`` names in ``column``, for those who may judge it."""
    page = await reviews.samples(store, principal, queue_id, position=position)
    (sample,) = page.samples
    if column not in sample.columns:
        raise NotFound(f"The review's samples have no column {column!r}.", field="column")
    value = sample.values[sample.columns.index(column)]
    if value == MASK:
        raise NotFound(f"{column} holds personal data, hidden from you.", field="column")
    if not is_image_address(value):
        raise InvalidInput(
            f"{column} of sample {position + 1} does not name an image Salon can show "
            f"({', '.join(IMAGE_TYPES)} as runs:/RUN_ID/path, under SALON_DATASET_ROOTS or "
            "in its S3 prefixes).",
            field="column",
        )
    address = str(value)
    media_type = IMAGE_TYPES[PurePosixPath(address).suffix.lower()]
    suffixes = tuple(IMAGE_TYPES)
    if address.startswith("runs:/"):
        run_id, _, path = address.removeprefix("runs:/").lstrip("/").partition("/")
        artifact, chunks = await artifacts.open_file(store, principal, "run", run_id, path)
        if artifact.size > MAX_IMAGE_BYTES:
            raise LimitExceeded(f"{address} is larger than {MAX_IMAGE_BYTES:,} bytes.")
        return Image(await asyncio.to_thread(lambda: b"".join(chunks)), media_type)
    if address.startswith("s3://"):
        uri = s3_object(settings, address, suffixes)
        if store.s3 is None:
            raise InvalidInput("This hub has no S3 prefix in SALON_DATASET_ROOTS.", field="column")
        try:
            content = await asyncio.to_thread(store.s3.read, uri, MAX_IMAGE_BYTES)
        except RemoteMissing as exc:
            raise NotFound(str(exc), field="column") from None
        except RemoteError as exc:
            raise InvalidInput(str(exc), field="column") from None
        return Image(content, media_type)
    found = local_file(settings, address, suffixes)
    if found.stat().st_size > MAX_IMAGE_BYTES:
        raise LimitExceeded(f"{address} is larger than {MAX_IMAGE_BYTES:,} bytes.")
    return Image(await asyncio.to_thread(found.read_bytes), media_type)
