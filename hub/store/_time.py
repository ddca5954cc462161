"""DuckDB keeps naive UTC timestamps; everything above the store sees aware UTC datetimes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

R = TypeVar("R")


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def to_naive(value: datetime | None) -> datetime | None:
    """Aware → naive UTC for storage."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def record_of(kind: type[R], row: Sequence[Any]) -> R:
    """A frozen record from a row, datetimes as aware UTC."""
    return kind(*[to_utc(v) if isinstance(v, datetime) else v for v in row])


def row_of(record: Any) -> list[Any]:
    """A frozen record's field values in order, datetimes as naive UTC: a row to insert."""
    return [to_naive(v) if isinstance(v, datetime) else v for v in dataclasses.astuple(record)]
