"""People and groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.identity import GroupRecord, UserRecord
from hub.errors import Conflict
from hub.store._rows import among, maybe_utc, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.oauth import end_user_sessions
from hub.store.tokens import revoke_user_tokens

_USER_COLUMNS = (
    "id, name, display_name, email, is_admin, is_compliance, created_at, disabled_at, "
    "issuer, subject"
)
_GROUP_COLUMNS = "id, name, description, created_at"


def _user(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        to_utc(row[6]),
        maybe_utc(row[7]),
        row[8],
        row[9],
    )


def _group(row: tuple[Any, ...]) -> GroupRecord:
    return GroupRecord(row[0], row[1], row[2], to_utc(row[3]))


def _insert_user(cur: Cursor, user: UserRecord, password_hash: str | None) -> UserRecord:
    # Checked in the write itself: two hubs creating the same account at once (both starting
    # with the same admin) must not make two.
    if cur.execute("SELECT 1 FROM users WHERE name = ?", [user.name]).fetchone():
        raise Conflict(f"There is already a user called {user.name!r}.", field="name")
    cur.execute(
        f"INSERT INTO users ({_USER_COLUMNS}, password_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            user.id,
            user.name,
            user.display_name,
            user.email,
            user.is_admin,
            user.is_compliance,
            to_naive(user.created_at),
            to_naive(user.disabled_at),
            user.issuer,
            user.subject,
            password_hash,
        ],
    )
    return user


def _user_where(cur: Cursor, clause: str, params: list[Any]) -> UserRecord | None:
    row = cur.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE {clause} LIMIT 1", params
    ).fetchone()
    return None if row is None else _user(row)


def _password_hash(cur: Cursor, name: str) -> tuple[UserRecord, str | None] | None:
    row = cur.execute(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE name = ? LIMIT 1", [name]
    ).fetchone()
    return None if row is None else (_user(row[:-1]), row[-1])


def _update_user(cur: Cursor, user_id: str, changes: dict[str, Any]) -> UserRecord | None:
    assignments = ", ".join(f"{column} = ?" for column in changes)
    cur.execute(f"UPDATE users SET {assignments} WHERE id = ?", [*changes.values(), user_id])
    return _user_where(cur, "id = ?", [user_id])


def _disable(cur: Cursor, user_id: str, at: datetime) -> UserRecord | None:
    """Disable the account and end, for good, what it had signed in with: re-enabling it later
    does not bring its API tokens or sign-in sessions back."""
    cur.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [to_naive(at), user_id])
    revoke_user_tokens(cur, user_id, at)
    end_user_sessions(cur, user_id, None, at)
    return _user_where(cur, "id = ?", [user_id])


def _group_ids_of(cur: Cursor, user_id: str, claimed: Sequence[str]) -> list[str]:
    """Groups the user belongs to in Salon, plus those named in an outside provider's claim."""
    sql = "SELECT DISTINCT group_id FROM group_members WHERE user_id = ?"
    if claimed:  # only people signed in through a provider that names groups
        sql += f" UNION SELECT id FROM groups WHERE name IN {among(list(claimed))}"
    rows = cur.execute(sql, [user_id, *claimed]).fetchall()
    return sorted(row[0] for row in rows)


def _users_by_ids(cur: Cursor, ids: list[str]) -> dict[str, UserRecord]:
    rows = cur.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id IN {among(ids)}", ids)
    return {row[0]: _user(row) for row in rows.fetchall()}


def _all_groups(cur: Cursor) -> list[GroupRecord]:
    rows = cur.execute(f"SELECT {_GROUP_COLUMNS} FROM groups ORDER BY name").fetchall()
    return [_group(row) for row in rows]


def _group_named(cur: Cursor, name: str) -> GroupRecord | None:
    row = cur.execute(
        f"SELECT {_GROUP_COLUMNS} FROM groups WHERE name = ? LIMIT 1", [name]
    ).fetchone()
    return None if row is None else _group(row)


def _group_members(cur: Cursor, group_ids: list[str]) -> list[tuple[str, str]]:
    rows = cur.execute(
        f"SELECT group_id, user_id FROM group_members WHERE group_id IN {among(group_ids)} "
        "ORDER BY added_at",
        group_ids,
    ).fetchall()
    return [(group_id, user_id) for group_id, user_id in rows]


def _add_member(cur: Cursor, group_id: str, user_id: str, at: datetime) -> bool:
    exists = cur.execute(
        "SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?", [group_id, user_id]
    ).fetchone()
    if exists:
        return False
    cur.execute("INSERT INTO group_members VALUES (?, ?, ?)", [group_id, user_id, to_naive(at)])
    return True


class UserStore:
    """Reads and writes people, groups and group membership."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, user: UserRecord, password_hash: str | None, *, audit: Sequence[EventDraft]
    ) -> UserRecord:
        return await self._db.audited_write(audit, _insert_user, user, password_hash)

    def create_sync(
        self, user: UserRecord, password_hash: str | None, *, audit: Sequence[EventDraft]
    ) -> UserRecord:
        return self._db.audited_write_sync(audit, _insert_user, user, password_hash)

    # People and groups by id or name, and the list of groups, are kept reads (see
    # ``Database.read_kept``): a comment asks them for everyone it mentions or tells, every
    # page of comments for their authors, and they change seldom.
    async def by_id(self, user_id: str) -> UserRecord | None:
        return await self._db.read_kept(_user_where, "id = ?", [user_id])

    def by_id_sync(self, user_id: str) -> UserRecord | None:
        return self._db.read_sync(_user_where, "id = ?", [user_id])

    async def by_name(self, name: str) -> UserRecord | None:
        return await self._db.read_kept(_user_where, "name = ?", [name])

    def by_name_sync(self, name: str) -> UserRecord | None:
        return self._db.read_sync(_user_where, "name = ?", [name])

    async def by_subject(self, issuer: str, subject: str) -> UserRecord | None:
        return await self._db.read(_user_where, "issuer = ? AND subject = ?", [issuer, subject])

    async def with_password_hash(self, name: str) -> tuple[UserRecord, str | None] | None:
        """The user called ``name`` and their stored password hash (for signing in)."""
        return await self._db.read(_password_hash, name)

    async def all(self) -> list[UserRecord]:
        rows = await self._db.read(
            lambda cur: cur.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()
        )
        return [_user(row) for row in rows]

    async def by_ids(self, ids: list[str]) -> dict[str, UserRecord]:
        if not ids:
            return {}
        return await self._db.read_kept(_users_by_ids, sorted(set(ids)))

    async def update(
        self, user_id: str, changes: dict[str, Any], *, audit: Sequence[EventDraft]
    ) -> UserRecord | None:
        """Change columns of a user (``disabled_at``, ``password_hash``, flags, names)."""
        stored = {k: to_naive(v) if isinstance(v, datetime) else v for k, v in changes.items()}
        return await self._db.audited_write(audit, _update_user, user_id, stored)

    async def disable(
        self, user_id: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> UserRecord | None:
        """Disable a user, revoking their API tokens and sessions in the same transaction."""
        return await self._db.audited_write(audit, _disable, user_id, at)

    async def group_ids_of(self, user_id: str, claimed: Sequence[str] = ()) -> list[str]:
        return await self._db.read_kept(_group_ids_of, user_id, list(claimed))

    async def create_group(self, group: GroupRecord, *, audit: Sequence[EventDraft]) -> GroupRecord:
        def insert(cur: Cursor) -> GroupRecord:
            cur.execute(
                f"INSERT INTO groups ({_GROUP_COLUMNS}) VALUES (?, ?, ?, ?)",
                [group.id, group.name, group.description, to_naive(group.created_at)],
            )
            return group

        return await self._db.audited_write(audit, insert)

    async def group_by_name(self, name: str) -> GroupRecord | None:
        return await self._db.read_kept(_group_named, name)

    async def groups(self) -> list[GroupRecord]:
        return await self._db.read_kept(_all_groups)

    async def group_members(self, group_ids: list[str]) -> dict[str, list[str]]:
        """User ids per group."""
        rows = await self._db.read_kept(_group_members, group_ids)
        members: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
        for group_id, user_id in rows:
            members[group_id].append(user_id)
        return members

    async def add_member(
        self, group_id: str, user_id: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> bool:
        """Add a person to a group; False when they already were in it."""
        return await self._db.audited_write(audit, _add_member, group_id, user_id, at)

    async def remove_member(
        self, group_id: str, user_id: str, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(
            audit,
            lambda cur: cur.execute(
                "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", [group_id, user_id]
            ),
        )
