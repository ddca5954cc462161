"""The current time, always aware UTC: the one clock services and records agree on."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
