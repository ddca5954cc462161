"""Share links, kept by the SHA-256 of their secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hub.domain.audit import EventDraft
from hub.domain.collaboration import ShareLinkRecord
from hub.store._rows import affected, record_of, row_of, to_naive
from hub.store.database import Cursor, Database

_COLUMNS = (
    "id, project_id, view, object_id, arguments, title, created_by, created_by_name, "
    "created_at, expires_at, signed_in_only, revoked_at, revoked_by, last_viewed_at"
)


def _insert(cur: Cursor, link: ShareLinkRecord, token_hash: str) -> ShareLinkRecord:
    values = row_of(link)
    cur.execute(
        f"INSERT INTO share_links ({_COLUMNS}, token_hash) "
        f"VALUES ({', '.join('?' * (len(values) + 1))})",
        [*values, token_hash],
    )
    return link


def _select(cur: Cursor, where: str, params: list[object]) -> list[ShareLinkRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM share_links WHERE {where} ORDER BY created_at DESC, id", params
    ).fetchall()
    return [record_of(ShareLinkRecord, row) for row in rows]


def _revoke(cur: Cursor, link_id: str, at: datetime, by: str) -> str | None:
    revoked = affected(
        cur,
        "UPDATE share_links SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
        [to_naive(at), by, link_id],
    )
    return link_id if revoked else None


def _viewed(cur: Cursor, link_id: str, at: datetime) -> None:
    cur.execute("UPDATE share_links SET last_viewed_at = ? WHERE id = ?", [to_naive(at), link_id])


class ShareLinkStore:
    """Reads and writes share links."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, link: ShareLinkRecord, token_hash: str, *, audit: Sequence[EventDraft]
    ) -> ShareLinkRecord:
        return await self._db.audited_write(audit, _insert, link, token_hash)

    async def by_hash(self, token_hash: str) -> ShareLinkRecord | None:
        """The link with this secret, expired and revoked ones included (to say which)."""
        found = await self._db.read(_select, "token_hash = ?", [token_hash])
        return found[0] if found else None

    async def by_id(self, link_id: str) -> ShareLinkRecord | None:
        found = await self._db.read(_select, "id = ?", [link_id])
        return found[0] if found else None

    async def of_project(self, project_id: str) -> list[ShareLinkRecord]:
        """A project's links, newest first, revoked and expired ones included."""
        return await self._db.read(_select, "project_id = ?", [project_id])

    async def count_active_by(self, user_id: str, at: datetime) -> int:
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT count(*) FROM share_links WHERE created_by = ? AND revoked_at IS NULL "
                "AND expires_at > ?",
                [user_id, to_naive(at)],
            ).fetchone()
        )
        return int(row[0]) if row else 0

    async def revoke(
        self, link_id: str, at: datetime, by: str, *, audit: Sequence[EventDraft]
    ) -> bool:
        """Revoke a link; False when it was revoked already."""
        return await self._db.audited_write(audit, _revoke, link_id, at, by) is not None

    async def viewed(self, link_id: str, at: datetime, *, audit: Sequence[EventDraft]) -> None:
        """Note a view through the link, with its audit event, in one transaction."""
        await self._db.audited_write(audit, _viewed, link_id, at)
