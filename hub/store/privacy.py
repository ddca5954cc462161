"""A person's data: everything Salon holds about them (an export), and their erasure.

Erasing keeps the account's id, which comments, runs, the feed and the audit trail name, and
turns the account into a pseudonym ("former member 7"): the mapping from that id to the
person (name, display name, e-mail, provider subject) is overwritten, their name is replaced
wherever Salon stored it as text, what only concerned them (sessions, tokens, memberships,
notifications...) is deleted, and their key of the audit trail is destroyed, which leaves the
addresses recorded for them unreadable while the hash chain still verifies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.domain.audit import EventDraft
from hub.errors import Conflict, NotFound
from hub.store._rows import affected, to_naive
from hub.store.database import Cursor, Database
from hub.store.person_keys import keys_for, unseal

# Columns that hold a person's name as text (ids stay: they are pseudonymous once the account
# is). Columns holding ids are listed too where both occur; an id never equals a name.
NAME_COLUMNS = (
    ("runs", "user_name"),
    ("runs", "created_by"),
    ("experiments", "created_by"),
    ("projects", "created_by"),
    ("datasets", "created_by"),
    ("dataset_versions", "author"),
    ("dataset_annotations", "author"),
    ("dataset_columns", "updated_by"),
    ("artifacts", "created_by"),
    ("cluster_jobs", "user_name"),
    ("cluster_jobs", "submitted_by"),
    ("gpu_quotas", "set_by"),
    ("legal_holds", "placed_by"),
    ("legal_holds", "released_by"),
    ("logged_models", "created_by"),
    ("memberships", "granted_by"),
    ("model_alias_moves", "moved_by"),
    ("model_aliases", "moved_by"),
    ("model_card_sections", "updated_by"),
    ("model_policies", "updated_by"),
    ("model_versions", "created_by"),
    ("pages", "created_by"),
    ("review_queues", "created_by"),
    ("share_links", "created_by_name"),
    ("share_links", "revoked_by"),
    ("tasks", "created_by"),
    ("trash", "trashed_by"),
    ("webhooks", "created_by"),
    ("comment_edits", "edited_by"),
    ("comments", "resolved_by"),
)

# Free text where people mention each other (@name).
MENTION_COLUMNS = (
    ("comments", "body"),
    ("comment_edits", "body"),
    ("activity", "summary"),
    ("activity", "detail"),
    ("tasks", "title"),
    ("tasks", "description"),
    ("page_versions", "body"),
    ("runs", "notes"),
)

# Rows that only concern the person, deleted: (table, condition on ``$id`` and ``$name``).
PERSONAL_ROWS = (
    ("sessions", "user_id = $id"),
    ("oauth_codes", "user_id = $id"),
    ("api_tokens", "user_id = $id OR user_name = $name"),
    ("group_members", "user_id = $id"),
    ("memberships", "subject_kind = 'user' AND subject_id = $id"),
    ("notifications", "user_id = $id"),
    ("watches", "user_id = $id"),
    ("feed_marks", "user_id = $id"),
    ("digest_settings", "user_id = $id"),
    ("auth_failures", "key = 'account:' || $name"),
    ("person_keys", "actor_id = $id"),
)

# What an export holds: (file, SQL over ``$id`` and ``$name``). Never a secret's hash.
SECTIONS = (
    (
        "account",
        "SELECT id, name, display_name, email, is_admin, is_compliance, issuer, subject, "
        "created_at, disabled_at FROM users WHERE id = $id",
    ),
    (
        "groups",
        "SELECT g.name, m.added_at FROM group_members m JOIN groups g ON g.id = m.group_id "
        "WHERE m.user_id = $id",
    ),
    (
        "memberships",
        "SELECT p.name AS project, m.role, m.pii, m.granted_by, m.granted_at FROM memberships m "
        "JOIN projects p ON p.id = m.project_id WHERE m.subject_kind = 'user' "
        "AND m.subject_id = $id",
    ),
    (
        "tokens",
        "SELECT id, name, is_admin, scope_projects, scope_write, created_at, expires_at, "
        "revoked_at FROM api_tokens WHERE user_id = $id OR user_name = $name",
    ),
    (
        "sign_ins",
        "SELECT id, client_id, scope, auth_time, expires_at, revoked_at FROM sessions "
        "WHERE user_id = $id",
    ),
    (
        "comments",
        "SELECT id, project_id, target_kind, target_id, thread_id, body, created_at, edited_at, "
        "deleted_at FROM comments WHERE author_id = $id",
    ),
    (
        "comment_edits",
        "SELECT comment_id, body, edited_at FROM comment_edits WHERE edited_by IN ($id, $name)",
    ),
    (
        "reactions",
        "SELECT comment_id, emoji, created_at FROM comment_reactions WHERE user_id = $id",
    ),
    (
        "runs",
        "SELECT id, project_id, experiment_id, name, status, notes, started_at, ended_at, "
        "git_commit, command, host FROM runs WHERE user_name = $name OR created_by = $name",
    ),
    (
        "dataset_versions",
        "SELECT id, dataset_id, number, message, created_at, row_count, source "
        "FROM dataset_versions WHERE author = $name",
    ),
    (
        "notifications",
        "SELECT a.summary, n.reason, n.created_at, n.read_at FROM notifications n "
        "JOIN activity a ON a.id = n.activity_id WHERE n.user_id = $id",
    ),
    ("watches", "SELECT target_kind, target_id, created_at FROM watches WHERE user_id = $id"),
    (
        "tasks",
        "SELECT id, project_id, number, title, status, due_date, created_at FROM tasks "
        "WHERE assignee_id = $id OR created_by IN ($id, $name)",
    ),
    (
        "gpu_bookings",
        "SELECT id, project_id, gpus, starts_at, ends_at, note, released_at FROM gpu_bookings "
        "WHERE user_id = $id",
    ),
    (
        "activity",
        "SELECT id, happened_at, project_id, verb, object_kind, object_id, summary "
        "FROM activity WHERE actor_id = $id ORDER BY id",
    ),
)
AUDIT = (
    "SELECT seq, occurred_at, actor_id, auth_method, address, action, object_kind, object_id, "
    "project_id, outcome, row_count FROM audit_events WHERE actor_id = $id OR object_id = $id "
    "ORDER BY seq"
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _named(values: dict[str, Any], sql: str) -> dict[str, Any]:
    """Those of ``values`` the statement names (DuckDB refuses any other)."""
    return {key: value for key, value in values.items() if f"${key}" in sql}


def _rows(cur: Cursor, sql: str, user_id: str, name: str) -> list[dict[str, Any]]:
    result = cur.execute(sql, _named({"id": user_id, "name": name}, sql))
    columns = [column[0] for column in result.description or ()]
    return [dict(zip(columns, map(_plain, row), strict=True)) for row in result.fetchall()]


def person(cur: Cursor, name: str) -> tuple[str, str, bool, datetime | None]:
    """(id, name, is admin, erased at) of the account called ``name``; NotFound if none."""
    row = cur.execute(
        "SELECT id, name, is_admin, erased_at FROM users WHERE name = ?", [name]
    ).fetchone()
    if row is None:
        raise NotFound(f"There is nobody called {name!r}.", field="user")
    return str(row[0]), str(row[1]), bool(row[2]), row[3]


def _export(cur: Cursor, name: str) -> dict[str, list[dict[str, Any]]]:
    user_id, name, _, _ = person(cur, name)
    found = {section: _rows(cur, sql, user_id, name) for section, sql in SECTIONS}
    events = _rows(cur, AUDIT, user_id, name)
    keys = keys_for(cur, {str(e["actor_id"]) for e in events if e["address"]}, create=False)
    for event in events:
        if event["address"]:
            event["address"] = unseal(keys.get(str(event["actor_id"])), event["address"])
    found["audit_events"] = events
    return found


def _erase(cur: Cursor, name: str, at: datetime) -> tuple[str, str, dict[str, int]]:
    """Erase the person (see the module); (their id, their pseudonym's name, rows changed per
    table)."""
    user_id, name, is_admin, erased_at = person(cur, name)
    if erased_at is not None:
        raise Conflict(f"{name} was erased already.", field="user")
    if is_admin:
        others = cur.execute(
            "SELECT count(*) FROM users WHERE is_admin AND disabled_at IS NULL AND id <> ?",
            [user_id],
        ).fetchone()
        if not others or not others[0]:
            raise Conflict(
                f"{name} is the last site admin: make someone else an admin first.",
                field="user",
            )
    erased = cur.execute("SELECT count(*) FROM users WHERE erased_at IS NOT NULL").fetchone()
    number = (int(erased[0]) if erased else 0) + 1
    pseudonym = f"former-member-{number}"
    changed: dict[str, int] = {}
    values = {"id": user_id, "name": name, "pseudonym": pseudonym}
    for table, condition in PERSONAL_ROWS:
        changed[table] = _count(cur, f"DELETE FROM {table} WHERE {condition}", values)
    for table, column in NAME_COLUMNS:
        updated = _count(
            cur, f"UPDATE {table} SET {column} = $pseudonym WHERE {column} = $name", values
        )
        changed[table] = changed.get(table, 0) + updated
    cur.execute("UPDATE runs SET host = NULL WHERE user_name = ?", [pseudonym])
    mention = {"pattern": f"@{re.escape(name)}\\b", "pseudonym": f"@{pseudonym}"}
    for table, column in MENTION_COLUMNS:
        updated = _count(
            cur,
            f"UPDATE {table} SET {column} = regexp_replace({column}, $pattern, $pseudonym, 'g') "
            f"WHERE regexp_matches({column}, $pattern)",
            mention,
        )
        changed[table] = changed.get(table, 0) + updated
    cur.execute(
        "UPDATE users SET name = ?, display_name = ?, email = NULL, password_hash = NULL, "
        "is_admin = false, is_compliance = false, issuer = NULL, subject = NULL, "
        "disabled_at = coalesce(disabled_at, ?), erased_at = ? WHERE id = ?",
        [pseudonym, f"Former member {number}", to_naive(at), to_naive(at), user_id],
    )
    return user_id, pseudonym, {table: count for table, count in changed.items() if count}


def _count(cur: Cursor, statement: str, values: dict[str, Any]) -> int:
    """Rows a DELETE or UPDATE changed."""
    return affected(cur, statement, _named(values, statement))


class PrivacyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def person(self, name: str) -> tuple[str, str, bool, datetime | None]:
        return await self._db.read(person, name)

    async def export(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """Every section of what Salon holds about the person, as rows of plain values."""
        return await self._db.read(_export, name)

    async def erase(
        self, name: str, at: datetime, *, audit: Sequence[EventDraft]
    ) -> tuple[str, str, dict[str, int]]:
        """Erase the person in one transaction; Conflict for the last admin or one erased."""
        return await self._db.audited_write(audit, _erase, name, at)
