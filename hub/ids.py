"""Application-generated, time-ordered ids (UUIDv7), so no correctness rests on the database."""

from __future__ import annotations

from datetime import datetime

import uuid_utils


def new_id(at: datetime | None = None) -> str:
    """A new UUIDv7 as its canonical 36-character string; ``at`` dates it (for history
    recorded after the fact, so that ordering by id stays ordering by time)."""
    if at is None:
        return str(uuid_utils.uuid7())
    return str(uuid_utils.uuid7(nanoseconds=int(at.timestamp() * 1e9)))
