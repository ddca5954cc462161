"""Wiki pages and notebooks, and every version of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.collaboration import PageRecord
from hub.store._rows import to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.hidden import live
from hub.store.trash import keep_name

_COLUMNS = (
    "p.id, p.project_id, p.slug, p.kind, p.run_id, p.created_by, p.created_at, v.number, "
    "v.title, v.body, v.message, v.author_id, v.created_at"
)


def _page(row: tuple[Any, ...]) -> PageRecord:
    values = list(row)
    values[6], values[12] = to_utc(values[6]), to_utc(values[12])
    return PageRecord(*values)


def _select(
    cur: Cursor, where: str, params: list[Any], version: int | None = None, limit: int = 500
) -> list[PageRecord]:
    chosen = (
        "v.number = ?"
        if version is not None
        else ("v.number = (SELECT max(number) FROM page_versions WHERE page_id = p.id)")
    )
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM pages p JOIN page_versions v ON v.page_id = p.id "
        f"WHERE {where} AND {chosen} AND {live('page', 'p.id')} ORDER BY v.title LIMIT ?",
        [*params, *([version] if version is not None else []), limit],
    ).fetchall()
    return [_page(row) for row in rows]


def _save(cur: Cursor, page: PageRecord) -> PageRecord:
    """A new version of the page (creating the page when it has no version yet)."""
    row = cur.execute(
        "SELECT id, created_by, created_at FROM pages WHERE project_id = ? AND slug = ?",
        [page.project_id, page.slug],
    ).fetchone()
    if row is not None:
        keep_name(cur, "page", row[0], page.slug, field="slug")
    if row is None:
        cur.execute(
            "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                page.id,
                page.project_id,
                page.slug,
                page.kind,
                page.run_id,
                page.created_by,
                to_naive(page.created_at),
            ],
        )
        page_id = page.id
    else:
        page_id = row[0]
    latest = cur.execute(
        "SELECT coalesce(max(number), 0) FROM page_versions WHERE page_id = ?", [page_id]
    ).fetchone()
    number = int(latest[0]) + 1 if latest else 1
    cur.execute(
        "INSERT INTO page_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            page_id,
            number,
            page.title,
            page.body,
            page.message,
            page.author_id,
            to_naive(page.updated_at),
        ],
    )
    (saved,) = _select(cur, "p.id = ?", [page_id])
    return saved


class PageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self,
        page: PageRecord,
        *,
        audit: Sequence[EventDraft] | Callable[[PageRecord], Sequence[EventDraft]],
    ) -> PageRecord:
        return await self._db.audited_write(audit, _save, page)

    async def by_slug(
        self, project_id: str, slug: str, version: int | None = None
    ) -> PageRecord | None:
        found = await self._db.read(
            _select, "p.project_id = ? AND p.slug = ?", [project_id, slug], version, 1
        )
        return found[0] if found else None

    async def by_id(self, page_id: str) -> PageRecord | None:
        found = await self._db.read(_select, "p.id = ?", [page_id], None, 1)
        return found[0] if found else None

    async def of_project(self, project_id: str) -> list[PageRecord]:
        return await self._db.read(_select, "p.project_id = ?", [project_id])

    async def of_run(self, run_id: str) -> list[PageRecord]:
        return await self._db.read(_select, "p.run_id = ?", [run_id])

    async def history(self, page_id: str) -> list[PageRecord]:
        def select(cur: Cursor) -> list[PageRecord]:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM pages p JOIN page_versions v ON v.page_id = p.id "
                f"WHERE p.id = ? AND {live('page', 'p.id')} ORDER BY v.number DESC",
                [page_id],
            ).fetchall()
            return [_page(row) for row in rows]

        return await self._db.read(select)
