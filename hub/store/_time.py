"""DuckDB keeps naive UTC timestamps; everything above the store sees aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def to_naive(value: datetime | None) -> datetime | None:
    """Aware → naive UTC for storage."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)
