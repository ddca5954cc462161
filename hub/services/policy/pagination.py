"""Opaque page cursors: where the next page starts and which runs the first page could see,
bound to the query they came from."""

from __future__ import annotations

import base64
import hashlib

from hub.errors import InvalidInput


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:12]


def encode_cursor(offset: int, snapshot: str | None, query: str) -> str:
    text = f"{offset}|{snapshot or ''}|{_fingerprint(query)}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, query: str) -> tuple[int, str | None]:
    """(offset, snapshot) stored in ``cursor``; refuses cursors of another query or that
    were tampered with."""
    if not cursor:
        return 0, None
    try:
        offset_text, snapshot, fingerprint = (
            base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        )
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "The 'after' cursor is not one this hub gave out; pass the endCursor of the "
            "previous page unchanged.",
            field="after",
        ) from None
    if fingerprint != _fingerprint(query) or offset < 0:
        raise InvalidInput(
            "The 'after' cursor belongs to a different filter or sort order; start again "
            "without it.",
            field="after",
        )
    return offset, snapshot or None
