"""Failed sign-ins and token guesses counted in the shared database (``020_auth_failures.sql``)."""

from __future__ import annotations

from datetime import datetime

from hub.store._rows import to_naive, to_utc
from hub.store.database import Cursor, Database


def _add(cur: Cursor, key: str, at: datetime, forget_before: datetime) -> None:
    cur.execute(
        "DELETE FROM auth_failures WHERE key = ? AND failed_at < ?", [key, to_naive(forget_before)]
    )
    cur.execute("INSERT INTO auth_failures VALUES (?, ?)", [key, to_naive(at)])


class FailureStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, key: str, at: datetime, forget_before: datetime) -> None:
        """Count a failure of ``key`` at ``at``, forgetting its failures before
        ``forget_before`` (outside every window)."""
        await self._db.write(_add, key, at, forget_before)

    async def since(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures ``key`` had after ``since``, and when the oldest of them was."""
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT count(*), min(failed_at) FROM auth_failures "
                "WHERE key = ? AND failed_at > ?",
                [key, to_naive(since)],
            ).fetchone()
        )
        if row is None or not row[0]:
            return 0, None
        return int(row[0]), to_utc(row[1])
