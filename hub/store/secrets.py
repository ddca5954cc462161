"""Secrets every hub sharing the database holds alike (see ``019_secrets.sql``)."""

from __future__ import annotations

from hub.clock import now
from hub.store._rows import to_naive
from hub.store.database import Cursor, Database


def _keep(cur: Cursor, name: str, value: str) -> str:
    row = cur.execute("SELECT value FROM hub_secrets WHERE name = ?", [name]).fetchone()
    if row is not None:
        return str(row[0])  # another hub made it first: everyone uses that one
    cur.execute("INSERT INTO hub_secrets VALUES (?, ?, ?)", [name, value, to_naive(now())])
    return value


def _put(cur: Cursor, name: str, value: str) -> None:
    cur.execute("DELETE FROM hub_secrets WHERE name = ?", [name])
    cur.execute("INSERT INTO hub_secrets VALUES (?, ?, ?)", [name, value, to_naive(now())])


class SecretStore:
    """Named values, written rarely (a first start, a key rotation, a checkpoint) and read at
    start-up and when a hub finds a key it does not know yet. Synchronous: the hub reads them
    before it serves, and the CLI without a running hub."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> str | None:
        row = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT value FROM hub_secrets WHERE name = ?", [name]
            ).fetchone()
        )
        return str(row[0]) if row else None

    def keep(self, name: str, value: str) -> str:
        """Store ``value`` under ``name`` unless a value is there already; returns the stored
        one, so that hubs starting together end up with the same secret."""
        return self._db.write_sync(_keep, name, value)

    def put(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, replacing what was there."""
        self._db.write_sync(_put, name, value)

    def remove(self, name: str) -> None:
        self._db.write_sync(
            lambda cur: cur.execute("DELETE FROM hub_secrets WHERE name = ?", [name])
        )

    def named(self, prefix: str) -> list[tuple[str, str]]:
        """(name, value) of every secret whose name starts with ``prefix``, by name."""
        rows = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT name, value FROM hub_secrets WHERE starts_with(name, ?) ORDER BY name",
                [prefix],
            ).fetchall()
        )
        return [(str(name), str(value)) for name, value in rows]
