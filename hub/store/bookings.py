"""GPU quotas and bookings. A booking is checked against the cluster's size and the quotas
inside the transaction that stores it, so two people booking the last GPUs at once cannot
both get them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.cluster import Booking, Quota
from hub.errors import Conflict
from hub.store._rows import maybe_utc, row_of, to_naive, to_utc
from hub.store.database import Cursor, Database

_BOOKING = ", ".join(f.name for f in dataclasses.fields(Booking))


def _booking(row: tuple[Any, ...]) -> Booking:
    values = list(row)
    for i in (4, 5, 8, 9):
        values[i] = maybe_utc(values[i])
    return Booking(*values)


def _overlapping(cur: Cursor, starts: datetime, ends: datetime) -> list[Booking]:
    rows = cur.execute(
        f"SELECT {_BOOKING} FROM gpu_bookings WHERE released_at IS NULL AND starts_at < ? "
        "AND ends_at > ? ORDER BY starts_at",
        [to_naive(ends), to_naive(starts)],
    ).fetchall()
    return [_booking(r) for r in rows]


def peak(bookings: Sequence[Booking], starts: datetime, ends: datetime) -> float:
    """The most GPUs booked at any one moment between ``starts`` and ``ends``."""
    changes: list[tuple[datetime, float]] = []
    for b in bookings:
        changes += [(max(b.starts_at, starts), b.gpus), (min(b.ends_at, ends), -b.gpus)]
    level = top = 0.0
    for _, delta in sorted(changes, key=lambda c: (c[0], c[1])):  # ends before starts
        level += delta
        top = max(top, level)
    return top


def _create(
    cur: Cursor,
    booking: Booking,
    capacity: float,
    quotas: Sequence[Quota],
    members: Mapping[str, list[str]],
) -> Booking:
    others = _overlapping(cur, booking.starts_at, booking.ends_at)
    everything = [*others, booking]
    busiest = peak(everything, booking.starts_at, booking.ends_at)
    if busiest > capacity:
        free = capacity - peak(others, booking.starts_at, booking.ends_at)
        raise Conflict(
            f"The cluster has {capacity:g} GPUs and {capacity - free:g} are already booked at "
            f"the busiest moment of that slot: {max(free, 0):g} can still be booked then.",
            field="gpus",
        )
    for quota in quotas:
        if quota.scope_kind == "project":
            mine = [b for b in everything if b.project_id == quota.scope_id]
        else:
            people = set(members.get(quota.scope_id, []))
            mine = [b for b in everything if b.user_id in people or b is booking]
        used = peak(mine, booking.starts_at, booking.ends_at)
        if used > quota.gpus:
            raise Conflict(
                f"The {quota.scope_kind} {quota.name}'s quota is {quota.gpus:g} GPUs; with this "
                f"booking it would have {used:g} booked at once.",
                field="gpus",
            )
    values = row_of(booking)
    cur.execute(
        f"INSERT INTO gpu_bookings ({_BOOKING}) VALUES ({', '.join('?' * len(values))})", values
    )
    return booking


class BookingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        booking: Booking,
        capacity: float,
        quotas: Sequence[Quota],
        members: Mapping[str, list[str]],
        *,
        audit: Sequence[EventDraft],
    ) -> Booking:
        return await self._db.audited_write(audit, _create, booking, capacity, quotas, members)

    async def by_id(self, booking_id: str) -> Booking | None:
        def select(cur: Cursor) -> Booking | None:
            row = cur.execute(
                f"SELECT {_BOOKING} FROM gpu_bookings WHERE id = ?", [booking_id]
            ).fetchone()
            return _booking(row) if row else None

        return await self._db.read(select)

    async def between(self, since: datetime, until: datetime) -> list[Booking]:
        return await self._db.read(_overlapping, since, until)

    async def release(
        self, booking_id: str, at: datetime, reason: str, *, audit: Sequence[EventDraft]
    ) -> Booking:
        def update(cur: Cursor) -> Booking:
            cur.execute(
                "UPDATE gpu_bookings SET released_at = ?, release_reason = ? WHERE id = ? "
                "AND released_at IS NULL",
                [to_naive(at), reason, booking_id],
            )
            row = cur.execute(
                f"SELECT {_BOOKING} FROM gpu_bookings WHERE id = ?", [booking_id]
            ).fetchone()
            assert row is not None
            return _booking(row)

        return await self._db.audited_write(audit, update)

    async def quotas(self) -> list[Quota]:
        def select(cur: Cursor) -> list[Quota]:
            rows = cur.execute(
                "SELECT scope_kind, scope_id, name, gpus, set_by, set_at FROM gpu_quotas "
                "ORDER BY scope_kind, name"
            ).fetchall()
            return [Quota(r[0], r[1], r[2], r[3], r[4], to_utc(r[5])) for r in rows]

        return await self._db.read(select)

    async def set_quota(
        self,
        scope_kind: str,
        scope_id: str,
        quota: Quota | None,
        *,
        audit: Sequence[EventDraft],
    ) -> None:
        def replace(cur: Cursor) -> None:
            cur.execute(
                "DELETE FROM gpu_quotas WHERE scope_kind = ? AND scope_id = ?",
                [scope_kind, scope_id],
            )
            if quota is not None:
                cur.execute(
                    "INSERT INTO gpu_quotas VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        quota.scope_kind,
                        quota.scope_id,
                        quota.name,
                        quota.gpus,
                        quota.set_by,
                        to_naive(quota.set_at),
                    ],
                )

        await self._db.audited_write(audit, replace)
