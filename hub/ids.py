"""Application-generated, time-ordered ids (UUIDv7), so no correctness rests on the database."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A new UUIDv7 as its canonical 36-character string."""
    return str(uuid_utils.uuid7())
