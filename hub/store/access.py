"""Roles on projects (for people and groups) and restrictions of objects to groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import MembershipRecord
from hub.store._rows import affected, among, to_naive, to_utc
from hub.store.database import Cursor, Database

_COLUMNS = "project_id, subject_kind, subject_id, role, pii, granted_by, granted_at"


def _membership(row: tuple[Any, ...]) -> MembershipRecord:
    return MembershipRecord(row[0], row[1], row[2], row[3], row[4], row[5], to_utc(row[6]))


def insert_membership(cur: Cursor, record: MembershipRecord) -> MembershipRecord:
    """Give the subject ``record.role``, replacing any role they held on the project."""
    cur.execute(
        "DELETE FROM memberships WHERE project_id = ? AND subject_kind = ? AND subject_id = ?",
        [record.project_id, record.subject_kind, record.subject_id],
    )
    cur.execute(
        f"INSERT INTO memberships ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            record.project_id,
            record.subject_kind,
            record.subject_id,
            record.role,
            record.pii,
            record.granted_by,
            to_naive(record.granted_at),
        ],
    )
    return record


def _revoke(cur: Cursor, project_id: str, subject_kind: str, subject_id: str) -> bool:
    removed = affected(
        cur,
        "DELETE FROM memberships WHERE project_id = ? AND subject_kind = ? AND subject_id = ?",
        [project_id, subject_kind, subject_id],
    )
    return removed > 0


def _for_subjects(cur: Cursor, user_id: str, group_ids: list[str]) -> list[MembershipRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM memberships WHERE (subject_kind = 'user' AND subject_id = ?) "
        f"OR (subject_kind = 'group' AND subject_id IN {among(group_ids)})",
        [user_id, *group_ids],
    ).fetchall()
    return [_membership(row) for row in rows]


class AccessStore:
    """Reads and writes memberships and restrictions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def grant(
        self, record: MembershipRecord, *, audit: Sequence[EventDraft]
    ) -> MembershipRecord:
        """Give a person or group a role on a project, replacing the role they had."""
        return await self._db.audited_write(audit, insert_membership, record)

    def grant_sync(
        self, record: MembershipRecord, *, audit: Sequence[EventDraft]
    ) -> MembershipRecord:
        return self._db.audited_write_sync(audit, insert_membership, record)

    async def revoke(
        self, project_id: str, subject_kind: str, subject_id: str, *, audit: Sequence[EventDraft]
    ) -> bool:
        """Take a role away; False when there was none."""
        return await self._db.audited_write(audit, _revoke, project_id, subject_kind, subject_id)

    async def for_subjects(self, user_id: str, group_ids: list[str]) -> list[MembershipRecord]:
        """Every membership held by the person directly or through one of their groups (asked
        by every check of a person who is not an admin: kept until memberships change)."""
        return await self._db.read_kept(_for_subjects, user_id, group_ids)

    async def of_project(self, project_id: str) -> list[MembershipRecord]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_COLUMNS} FROM memberships WHERE project_id = ? "
                "ORDER BY subject_kind, granted_at",
                [project_id],
            ).fetchall()
        )
        return [_membership(row) for row in rows]

    async def restrict(
        self,
        project_id: str,
        object_kind: str,
        object_id: str,
        group_ids: Sequence[str],
        *,
        audit: Sequence[EventDraft],
    ) -> None:
        """Make an object visible only to these groups (an empty list lifts the restriction)."""

        def replace(cur: Cursor) -> None:
            cur.execute(
                "DELETE FROM restrictions WHERE object_kind = ? AND object_id = ?",
                [object_kind, object_id],
            )
            if group_ids:
                cur.executemany(
                    "INSERT INTO restrictions VALUES (?, ?, ?, ?)",
                    [[project_id, object_kind, object_id, g] for g in group_ids],
                )

        await self._db.audited_write(audit, replace)

    async def restrictions(self, object_kind: str, object_ids: list[str]) -> dict[str, set[str]]:
        """Group ids each restricted object is limited to; unrestricted objects are absent."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT object_id, group_id FROM restrictions "
                f"WHERE object_kind = ? AND object_id IN {among(object_ids)}",
                [object_kind, *object_ids],
            ).fetchall()
        )
        found: dict[str, set[str]] = {}
        for object_id, group_id in rows:
            found.setdefault(object_id, set()).add(group_id)
        return found

    async def restrictions_in(self, project_ids: list[str]) -> dict[tuple[str, str, str], set[str]]:
        """Every restricted object of these projects, as (project id, kind, id), with the group
        ids it is limited to."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT project_id, object_kind, object_id, group_id FROM restrictions "
                f"WHERE project_id IN {among(project_ids)}",
                project_ids,
            ).fetchall()
        )
        found: dict[tuple[str, str, str], set[str]] = {}
        for project_id, kind, object_id, group_id in rows:
            found.setdefault((project_id, kind, object_id), set()).add(group_id)
        return found
