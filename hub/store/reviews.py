"""Review queues over a model version's predictions: their samples and reviewers' judgements."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.registry import Judgement, ReviewQueue
from hub.errors import Conflict
from hub.store._rows import among, maybe_utc, row_of, to_naive, to_utc
from hub.store.database import Cursor, Database

_QUEUE = ", ".join(f.name for f in dataclasses.fields(ReviewQueue))
_JUDGEMENT = ", ".join(f.name for f in dataclasses.fields(Judgement))


def _queue(row: tuple[Any, ...]) -> ReviewQueue:
    values = list(row)
    values[6] = tuple(json.loads(values[6]))
    values[10], values[11] = to_utc(values[10]), maybe_utc(values[11])
    return ReviewQueue(*values)


def _queues(cur: Cursor, where: str, params: list[Any]) -> list[ReviewQueue]:
    rows = cur.execute(
        f"SELECT {_QUEUE} FROM review_queues WHERE {where} ORDER BY created_at DESC", params
    ).fetchall()
    return [_queue(r) for r in rows]


def _create(cur: Cursor, queue: ReviewQueue, rows: Sequence[int]) -> ReviewQueue:
    values = row_of(queue)
    cur.execute(
        f"INSERT INTO review_queues ({_QUEUE}) VALUES ({', '.join('?' * len(values))})", values
    )
    cur.executemany(
        "INSERT INTO review_items VALUES (?, ?, ?)",
        [[queue.id, i, row] for i, row in enumerate(rows)],
    )
    return queue


def _judge(cur: Cursor, judgement: Judgement) -> Judgement:
    """Record a judgement; a reviewer's earlier one on the same sample is replaced. A queue
    closed meanwhile refuses it."""
    row = cur.execute(
        "SELECT closed_at FROM review_queues WHERE id = ?", [judgement.queue_id]
    ).fetchone()
    if row is None or row[0] is not None:
        raise Conflict("This review is closed: its results are final.")
    cur.execute(
        "DELETE FROM review_judgements WHERE queue_id = ? AND position = ? AND user_id = ?",
        [judgement.queue_id, judgement.position, judgement.user_id],
    )
    values = row_of(judgement)
    cur.execute(
        f"INSERT INTO review_judgements ({_JUDGEMENT}) VALUES ({', '.join('?' * len(values))})",
        values,
    )
    return judgement


def _close(cur: Cursor, queue_id: str, at: datetime) -> None:
    cur.execute(
        "UPDATE review_queues SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
        [to_naive(at), queue_id],
    )


class ReviewStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, queue: ReviewQueue, rows: Sequence[int], *, audit: Sequence[EventDraft]
    ) -> ReviewQueue:
        return await self._db.audited_write(audit, _create, queue, rows)

    async def by_id(self, queue_id: str) -> ReviewQueue | None:
        found = await self._db.read(_queues, "id = ?", [queue_id])
        return found[0] if found else None

    async def of_versions(self, version_ids: list[str]) -> list[ReviewQueue]:
        return await self._db.read(_queues, f"version_id IN {among(version_ids)}", version_ids)

    async def open_in(self, project_ids: list[str]) -> list[ReviewQueue]:
        return await self._db.read(
            _queues, f"closed_at IS NULL AND project_id IN {among(project_ids)}", project_ids
        )

    async def items(self, queue_id: str) -> list[int]:
        """The queue's rows, in the order reviewers see them."""

        def read(cur: Cursor) -> list[int]:
            rows = cur.execute(
                "SELECT row_number FROM review_items WHERE queue_id = ? ORDER BY position",
                [queue_id],
            ).fetchall()
            return [int(r[0]) for r in rows]

        return await self._db.read(read)

    async def judgements(self, queue_ids: list[str]) -> list[Judgement]:
        def read(cur: Cursor) -> list[Judgement]:
            rows = cur.execute(
                f"SELECT {_JUDGEMENT} FROM review_judgements "
                f"WHERE queue_id IN {among(queue_ids)} ORDER BY judged_at",
                queue_ids,
            ).fetchall()
            return [Judgement(r[0], r[1], r[2], r[3], r[4], r[5], r[6], to_utc(r[7])) for r in rows]

        return await self._db.read(read)

    async def judge(self, judgement: Judgement, *, audit: Sequence[EventDraft]) -> Judgement:
        return await self._db.audited_write(audit, _judge, judgement)

    async def close(self, queue_id: str, at: datetime, *, audit: Sequence[EventDraft]) -> None:
        await self._db.audited_write(audit, _close, queue_id, at)
