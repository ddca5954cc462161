"""Leases on periodic work: which hub does it, until when."""

from __future__ import annotations

from datetime import datetime

from hub.store._rows import to_naive, to_utc
from hub.store.database import Cursor, Database


def _take(cur: Cursor, name: str, holder: str, at: datetime, until: datetime) -> bool:
    row = cur.execute("SELECT holder, expires_at FROM leases WHERE name = ?", [name]).fetchone()
    if row is not None and row[0] != holder and to_utc(row[1]) > at:
        return False  # another hub holds it and has renewed it in time
    cur.execute("DELETE FROM leases WHERE name = ?", [name])
    cur.execute("INSERT INTO leases VALUES (?, ?, ?)", [name, holder, to_naive(until)])
    return True


def _release(cur: Cursor, name: str, holder: str) -> None:
    cur.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])


class LeaseStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take(self, name: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take or renew the lease ``name`` until ``until``; False while another holder's
        lease runs. Writes take turns across hubs, so two never both get it."""
        return await self._db.write(_take, name, holder, at, until)

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (a hub stopping), so another takes the work over at once."""
        await self._db.write(_release, name, holder)

    async def holders(self) -> dict[str, tuple[str, datetime]]:
        """Every lease: its holder and when it runs out."""
        rows = await self._db.read(
            lambda cur: cur.execute("SELECT name, holder, expires_at FROM leases").fetchall()
        )
        return {name: (holder, to_utc(until)) for name, holder, until in rows}
