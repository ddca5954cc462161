"""Webhooks and their outbox. Messages enter the outbox with the change they announce (see
``activity._enqueue``); this module reads what is due and records how each attempt went."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.collaboration import DeliveryRecord, WebhookRecord
from hub.store._rows import maybe_utc, qualified, row_of, to_naive, to_utc
from hub.store.database import Cursor, Database

_HOOK = ", ".join(f.name for f in dataclasses.fields(WebhookRecord))
_DELIVERY = ", ".join(f.name for f in dataclasses.fields(DeliveryRecord))


def _hook(row: tuple[Any, ...]) -> WebhookRecord:
    values = list(row)
    values[7], values[9] = to_utc(values[7]), maybe_utc(values[9])
    return WebhookRecord(*values)


def _delivery(row: tuple[Any, ...]) -> DeliveryRecord:
    values = list(row)
    for i in (3, 5, 6, 7):
        values[i] = maybe_utc(values[i])
    return DeliveryRecord(*values)


def _insert(cur: Cursor, hook: WebhookRecord) -> WebhookRecord:
    values = row_of(hook)
    cur.execute(f"INSERT INTO webhooks ({_HOOK}) VALUES ({', '.join('?' * len(values))})", values)
    return hook


def _by_id(cur: Cursor, hook_id: str) -> WebhookRecord | None:
    row = cur.execute(f"SELECT {_HOOK} FROM webhooks WHERE id = ?", [hook_id]).fetchone()
    return _hook(row) if row else None


def _delete(cur: Cursor, hook_id: str) -> bool:
    cur.execute("DELETE FROM webhook_outbox WHERE webhook_id = ?", [hook_id])
    return bool(cur.execute("DELETE FROM webhooks WHERE id = ? RETURNING 1", [hook_id]).fetchall())


def _enable(cur: Cursor, hook_id: str) -> WebhookRecord | None:
    cur.execute(
        "UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failures = 0 WHERE id = ?",
        [hook_id],
    )
    return _by_id(cur, hook_id)


def _delivered(cur: Cursor, message_id: str, hook_id: str, status: int, at: datetime) -> None:
    cur.execute(
        "UPDATE webhook_outbox SET attempts = attempts + 1, delivered_at = ?, last_status = ?, "
        "last_error = NULL WHERE id = ?",
        [to_naive(at), status, message_id],
    )
    cur.execute("UPDATE webhooks SET failures = 0 WHERE id = ?", [hook_id])


def _failed(
    cur: Cursor,
    message_id: str,
    hook_id: str,
    status: int | None,
    error: str,
    retry_at: datetime | None,
    at: datetime,
    disable_after: int,
) -> bool:
    """Record a failed attempt; give the message up when there is no ``retry_at``. Disables
    the webhook once ``disable_after`` attempts in a row have failed; returns whether it did."""
    cur.execute(
        "UPDATE webhook_outbox SET attempts = attempts + 1, last_status = ?, last_error = ?, "
        "next_attempt_at = coalesce(?, next_attempt_at), gave_up_at = CASE WHEN ? IS NULL "
        "THEN ? END WHERE id = ?",
        [status, error[:500], to_naive(retry_at), to_naive(retry_at), to_naive(at), message_id],
    )
    cur.execute("UPDATE webhooks SET failures = failures + 1 WHERE id = ?", [hook_id])
    row = cur.execute("SELECT failures FROM webhooks WHERE id = ?", [hook_id]).fetchone()
    if row is None or row[0] < disable_after:
        return False
    cur.execute(
        "UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ? "
        "AND disabled_at IS NULL",
        [to_naive(at), f"{row[0]} deliveries in a row failed; the last: {error[:300]}", hook_id],
    )
    return True


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, hook: WebhookRecord, *, audit: Sequence[EventDraft]) -> WebhookRecord:
        return await self._db.audited_write(audit, _insert, hook)

    async def by_id(self, hook_id: str) -> WebhookRecord | None:
        return await self._db.read(_by_id, hook_id)

    async def of_project(self, project_id: str) -> list[WebhookRecord]:
        def select(cur: Cursor) -> list[WebhookRecord]:
            rows = cur.execute(
                f"SELECT {_HOOK} FROM webhooks WHERE project_id = ? ORDER BY created_at",
                [project_id],
            ).fetchall()
            return [_hook(row) for row in rows]

        return await self._db.read(select)

    async def delete(self, hook_id: str, *, audit: Sequence[EventDraft]) -> bool:
        return await self._db.audited_write(audit, _delete, hook_id)

    async def enable(self, hook_id: str, *, audit: Sequence[EventDraft]) -> WebhookRecord | None:
        return await self._db.audited_write(audit, _enable, hook_id)

    async def deliveries(self, hook_id: str, limit: int) -> list[DeliveryRecord]:
        def select(cur: Cursor) -> list[DeliveryRecord]:
            rows = cur.execute(
                f"SELECT {_DELIVERY} FROM webhook_outbox WHERE webhook_id = ? "
                "ORDER BY created_at DESC, id LIMIT ?",
                [hook_id, limit],
            ).fetchall()
            return [_delivery(row) for row in rows]

        return await self._db.read(select)

    async def pending_count(self) -> int:
        """Messages neither delivered nor given up on."""
        row = await self._db.read(
            lambda cur: cur.execute(
                "SELECT count(*) FROM webhook_outbox "
                "WHERE delivered_at IS NULL AND gave_up_at IS NULL"
            ).fetchone()
        )
        return int(row[0]) if row else 0

    async def due(self, at: datetime, limit: int) -> list[DeliveryRecord]:
        """Messages waiting for an attempt, oldest first, of enabled webhooks."""

        def select(cur: Cursor) -> list[DeliveryRecord]:
            rows = cur.execute(
                f"SELECT {qualified(_DELIVERY, 'o')} "
                "FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id "
                "WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL AND w.disabled_at IS NULL "
                "AND o.next_attempt_at <= ? ORDER BY o.created_at, o.activity_id LIMIT ?",
                [to_naive(at), limit],
            ).fetchall()
            return [_delivery(row) for row in rows]

        return await self._db.read(select)

    async def delivered(self, message_id: str, hook_id: str, status: int, at: datetime) -> None:
        await self._db.write(_delivered, message_id, hook_id, status, at)

    async def failed(
        self,
        message_id: str,
        hook_id: str,
        status: int | None,
        error: str,
        retry_at: datetime | None,
        at: datetime,
        disable_after: int,
    ) -> bool:
        return await self._db.write(
            _failed, message_id, hook_id, status, error, retry_at, at, disable_after
        )
