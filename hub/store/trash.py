"""The trash: entries people put there, the objects each hides, restoring and purging.

Hidden objects keep their rows until purged; every list, search and feed leaves them out with
:func:`live`. A purge deletes the rows of an entry's objects (and of what refers to them:
params, points, comments, files...) in one transaction. Metric points on the shared backend are
in the DuckLake, which a transaction of PostgreSQL cannot include: their series are recorded in
``purged_series`` with the rows' deletion, and :meth:`Database.drop_purged_points` removes them
from the lake afterwards (again after a crash: the record stays until the points are gone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import Purged, TrashEntry
from hub.errors import Conflict, NotFound
from hub.store import trash_kinds as kinds
from hub.store._rows import among, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.hidden import live
from hub.store.holds import holding

_ENTRY = "id, kind, object_id, project_id, label, trashed_by, trashed_at"


def _entry(row: tuple[Any, ...], holds: tuple[tuple[str, int], ...] = ()) -> TrashEntry:
    return TrashEntry(row[0], row[1], row[2], row[3], row[4], row[5], to_utc(row[6]), holds)


def _holds(cur: Cursor, entry_ids: list[str]) -> dict[str, tuple[tuple[str, int], ...]]:
    if not entry_ids:
        return {}
    rows = cur.execute(
        f"SELECT entry_id, kind, count(*) FROM trashed WHERE entry_id IN {among(entry_ids)} "
        "GROUP BY entry_id, kind ORDER BY entry_id, kind",
        entry_ids,
    ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {}
    for entry_id, kind, count in rows:
        found.setdefault(entry_id, []).append((kind, int(count)))
    return {entry_id: tuple(kinds) for entry_id, kinds in found.items()}


def _entries(cur: Cursor, where: str, params: Sequence[Any]) -> list[TrashEntry]:
    rows = cur.execute(
        f"SELECT {_ENTRY} FROM trash WHERE {where} ORDER BY trashed_at DESC, id DESC", params
    ).fetchall()
    holds = _holds(cur, [row[0] for row in rows])
    return [_entry(row, holds.get(row[0], ())) for row in rows]


def is_hidden(cur: Cursor, kind: str, object_id: str) -> bool:
    """Whether the object is in the trash (one lookup; :func:`hiding` reads its entry)."""
    found = cur.execute(
        "SELECT 1 FROM trashed WHERE kind = ? AND object_id = ? LIMIT 1", [kind, object_id]
    ).fetchone()
    return found is not None


def keep_name(cur: Cursor, kind: str, object_id: str, name: str, field: str | None = None) -> None:
    """A name stays taken while its object is in the trash, since it may come back: Conflict
    when the object called ``name`` is there."""
    if is_hidden(cur, kind, object_id):
        noun = kind.replace("_", " ").capitalize()
        raise Conflict(
            f"{noun} {name!r} is in the trash; restore it, or choose another name.", field=field
        )


def hiding(cur: Cursor, kind: str, object_id: str) -> TrashEntry | None:
    """The entry that hides the object, if it is in the trash."""
    found = _entries(
        cur,
        "id = (SELECT entry_id FROM trashed WHERE kind = ? AND object_id = ? LIMIT 1)",
        [kind, object_id],
    )
    return found[0] if found else None


def described(cur: Cursor, kind: str, object_id: str) -> tuple[str, str, str] | None:
    """(project id, name, who made it) of the object, whether in the trash or not."""
    row = cur.execute(kinds.DESCRIBE[kind], [object_id]).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def _put(cur: Cursor, entry: TrashEntry) -> TrashEntry:
    if is_hidden(cur, entry.kind, entry.object_id):
        already = hiding(cur, entry.kind, entry.object_id)
        by = f" (moved by {already.trashed_by})" if already else ""
        raise Conflict(f"{entry.label} is already in the trash{by}.")
    if described(cur, entry.kind, entry.object_id) is None:
        raise NotFound(f"No {entry.kind.replace('_', ' ')} with id {entry.object_id!r}.")
    if entry.kind in kinds.GUARDS:
        query, said = kinds.GUARDS[entry.kind]
        reason = cur.execute(query, [entry.object_id]).fetchone()
        if reason is not None:
            raise Conflict(f"{entry.label} stays out of the trash: {said.format(reason[0])}.")
    cur.execute(
        f"INSERT INTO trash ({_ENTRY}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            entry.id,
            entry.kind,
            entry.object_id,
            entry.project_id,
            entry.label,
            entry.trashed_by,
            to_naive(entry.trashed_at),
        ],
    )
    cur.execute("INSERT INTO trashed VALUES (?, ?, ?)", [entry.id, entry.kind, entry.object_id])
    _touch(cur, entry.kind, entry.object_id, entry.trashed_at)
    for kind, select in kinds.HOLDS.get(entry.kind, ()):
        cur.execute(
            f"INSERT INTO trashed SELECT ?, ?, held.id FROM ({select}) AS held WHERE "
            f"{live(kind, 'held.id')}",
            [entry.id, kind, entry.object_id],
        )
    return _entries(cur, "id = ?", [entry.id])[0]


def _put_many(cur: Cursor, entries: Sequence[TrashEntry]) -> list[TrashEntry]:
    """Those of ``entries`` whose object is not in the trash yet, put there."""
    return [
        _put(cur, entry) for entry in entries if not is_hidden(cur, entry.kind, entry.object_id)
    ]


def _found(cur: Cursor, entry_id: str) -> TrashEntry:
    found = _entries(cur, "id = ?", [entry_id])
    if not found:
        raise NotFound(
            f"No trash entry with id {entry_id!r}: it was restored or purged.", field="entryId"
        )
    return found[0]


def _restore(cur: Cursor, entry_id: str) -> TrashEntry:
    entry = _found(cur, entry_id)
    for kind, select in kinds.PARENTS[entry.kind]:
        row = cur.execute(select, [entry.object_id]).fetchone()
        parent = hiding(cur, kind, row[0]) if row else None
        if parent is not None:
            raise Conflict(
                f"{entry.label} is in {kind.replace('_', ' ')} {parent.label}, which is in the "
                "trash too; restore that first.",
                field="entryId",
            )
    cur.execute("DELETE FROM trashed WHERE entry_id = ?", [entry_id])
    cur.execute("DELETE FROM trash WHERE id = ?", [entry_id])
    _touch(cur, entry.kind, entry.object_id, now())
    return entry


def _touch(cur: Cursor, kind: str, object_id: str, at: datetime) -> None:
    if kind in kinds.TOUCHES:
        cur.execute(kinds.TOUCHES[kind], [to_naive(at), object_id])


def _with_contents(cur: Cursor, entry_ids: list[str]) -> list[str]:
    """The entries and those of objects inside what they hold: a run trashed on its own in an
    experiment (or a file of a run) trashed later goes when that is purged, as it would have
    gone with it."""
    if not entry_ids:
        return []
    chosen = set(entry_ids)
    others = cur.execute(
        f"SELECT id, kind, object_id FROM trash WHERE id NOT IN {among(entry_ids)} AND "
        f"project_id IN (SELECT project_id FROM trash WHERE id IN {among(entry_ids)})",
        [*entry_ids, *entry_ids],
    ).fetchall()
    parents = {
        entry_id: {
            (kind, row[0])
            for kind, select in kinds.PARENTS[kind_of]
            if (row := cur.execute(select, [object_id]).fetchone()) is not None
        }
        for entry_id, kind_of, object_id in others
    }
    while True:
        ids = sorted(chosen)
        held = set(
            cur.execute(
                f"SELECT kind, object_id FROM trashed WHERE entry_id IN {among(ids)}", ids
            ).fetchall()
        )
        inside = {entry_id for entry_id, of in parents.items() if of & held} - chosen
        if not inside:
            return ids
        chosen |= inside


def _ids(kind: str, entries: list[str]) -> str:
    return f"(SELECT object_id FROM trashed WHERE kind = '{kind}' AND entry_id IN {among(entries)})"


def _on_entries(cur: Cursor, sql: str, entries: list[str]) -> Any:
    """Run ``sql`` whose only parameters are lists of ``entries`` (one per ``_ids``)."""
    return cur.execute(sql, entries * (sql.count("?") // len(entries)))


def _files_of(cur: Cursor, entries: list[str]) -> list[tuple[str, int]]:
    """The objects (digest, size) the entries' dataset versions and runs refer to."""
    rows = _on_entries(
        cur,
        "SELECT object_hash, max(size_bytes) FROM dataset_files WHERE location IS NULL AND "
        f"version_id IN {_ids('dataset_version', entries)} GROUP BY 1 UNION ALL "
        f"SELECT digest, max(size) FROM artifacts WHERE {_artifacts_of(entries)} GROUP BY 1",
        entries,
    ).fetchall()
    return [(str(digest), int(size)) for digest, size in rows]


def _artifacts_of(entries: list[str]) -> str:
    """SQL picking the entries' artifacts, those of their runs and of their experiments' and
    projects' logged models."""
    one = kinds.ARTIFACT_ID.replace("a.", "")
    return (
        f"(owner_kind = 'run' AND {one} IN {_ids('artifact', entries)}) OR "
        f"(owner_kind = 'logged_model' AND owner_id IN {_ids('logged_model', entries)}) OR "
        f"(owner_kind = 'run' AND owner_id IN {_ids('run', entries)}) OR (owner_kind = "
        "'logged_model' AND owner_id IN (SELECT id FROM logged_models WHERE experiment_id IN "
        f"{_ids('experiment', entries)} OR project_id IN {_ids('project', entries)}))"
    )


def _counts(cur: Cursor, entries: list[str]) -> tuple[tuple[tuple[str, int], ...], int]:
    rows = _on_entries(
        cur,
        f"SELECT kind, count(*) FROM trashed WHERE entry_id IN {among(entries)} "
        "GROUP BY kind ORDER BY kind",
        entries,
    ).fetchall()
    points = _on_entries(
        cur,
        "SELECT coalesce(sum(point_count), 0) FROM metric_summaries WHERE run_id IN "
        f"{_ids('run', entries)}",
        entries,
    ).fetchone()
    return tuple((kind, int(count)) for kind, count in rows), int(points[0]) if points else 0


def _forget_about(cur: Cursor, kind: str, ids: str, entries: list[str]) -> None:
    about = f"target_kind = '{kind}' AND target_id IN {ids}"
    comments = f"project_id IN {ids}" if kind == "project" else about
    activity = f"(object_kind = '{kind}' AND object_id IN {ids}) OR ({about})"
    if kind == "project":
        activity = f"project_id IN {ids} OR {activity}"
    for table, condition in kinds.ABOUT:
        where = condition.format(about=about, comments=comments, activity=activity)
        _on_entries(cur, f"DELETE FROM {table} WHERE {where}", entries)


def _purge(
    cur: Cursor,
    entry_ids: list[str],
    drop_points: Callable[[Cursor, str, list[Any]], None],
    dry_run: bool,
    refuse_held: bool,
) -> Purged:
    entries = _with_contents(cur, entry_ids)
    listed = _entries(cur, f"id IN {among(entries)}", entries) if entries else []
    blocked = holding(cur, [entry.id for entry in listed])
    if blocked and refuse_held:
        entry = next(entry for entry in listed if entry.id in blocked)
        raise Conflict(
            f"Purging {entry.label} is refused: a {blocked[entry.id].describe()} covers it. "
            "It stays in the trash until the hold is released."
        )
    held = tuple((entry, blocked[entry.id]) for entry in listed if entry.id in blocked)
    listed = [entry for entry in listed if entry.id not in blocked]
    if not listed:
        return Purged((), (), 0, (), 0, held)
    entries = [entry.id for entry in listed]
    objects, points = _counts(cur, entries)
    files = _files_of(cur, entries)
    if dry_run:
        gone = _unreferenced(cur, files, entries)
    else:
        series = f"SELECT series_id FROM metric_summaries WHERE run_id IN {_ids('run', entries)}"
        drop_points(cur, series, entries)
        for kind in kinds.PURGE_ORDER:
            ids = _ids(kind, entries)
            _forget_about(cur, kind, ids, entries)
            for table, condition in kinds.ROWS[kind]:
                _on_entries(cur, f"DELETE FROM {table} WHERE {condition.format(ids=ids)}", entries)
        cur.execute(f"DELETE FROM trashed WHERE entry_id IN {among(entries)}", entries)
        cur.execute(f"DELETE FROM trash WHERE id IN {among(entries)}", entries)
        gone = _unreferenced(cur, files, [])
    files_gone = tuple(digest for digest, _ in gone)
    return Purged(tuple(listed), objects, points, files_gone, sum(size for _, size in gone), held)


def _unreferenced(
    cur: Cursor, files: list[tuple[str, int]], entries: list[str]
) -> list[tuple[str, int]]:
    """Those of ``files`` that no row refers to, leaving out the rows of the ``entries``'
    objects (about to be purged)."""
    digests = sorted({digest for digest, _ in files})
    if not digests:
        return []
    in_files = f"SELECT object_hash FROM dataset_files WHERE object_hash IN {among(digests)}"
    in_artifacts = f"SELECT digest FROM artifacts WHERE digest IN {among(digests)}"
    params: list[Any] = [*digests, *digests]
    if entries:
        in_files += f" AND version_id NOT IN {_ids('dataset_version', entries)}"
        in_artifacts += f" AND NOT ({_artifacts_of(entries)})"
        picked = _artifacts_of(entries).count("?") // len(entries)
        params = [*digests, *entries, *digests, *entries * picked]
    kept = {row[0] for row in cur.execute(f"{in_files} UNION {in_artifacts}", params).fetchall()}
    sizes = dict(files)
    return [(digest, sizes[digest]) for digest in digests if digest not in kept]


class TrashStore:
    """Puts objects in the trash, lists, restores and purges its entries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, entry: TrashEntry, *, audit: Sequence[EventDraft]) -> TrashEntry:
        """Hide the object and what it holds under ``entry``; Conflict when it is in the
        trash already, NotFound when it does not exist."""
        return await self._db.audited_write(audit, _put, entry)

    async def put_many(
        self, entries: Sequence[TrashEntry], *, audit: Sequence[EventDraft]
    ) -> list[TrashEntry]:
        """Put many objects in the trash in one transaction (a retention run); those in the
        trash already are left out."""
        return await self._db.audited_write(audit, _put_many, entries)

    async def hidden(self, kind: str, object_ids: list[str]) -> set[str]:
        """Those of the objects that are in the trash."""
        if not object_ids:
            return set()
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT object_id FROM trashed WHERE kind = ? AND object_id IN "
                f"{among(object_ids)}",
                [kind, *object_ids],
            ).fetchall()
        )
        return {row[0] for row in rows}

    async def hiding(self, kind: str, object_id: str) -> TrashEntry | None:
        return await self._db.read(hiding, kind, object_id)

    async def described(self, kind: str, object_id: str) -> tuple[str, str, str] | None:
        """(project id, name, who made it) of the object, whether in the trash or not."""
        return await self._db.read(described, kind, object_id)

    async def entry(self, entry_id: str) -> TrashEntry:
        """The entry; NotFound when it was restored or purged."""
        return await self._db.read(_found, entry_id)

    async def of_projects(self, project_ids: list[str]) -> list[TrashEntry]:
        """The projects' entries, newest first."""
        if not project_ids:
            return []
        return await self._db.read(_entries, f"project_id IN {among(project_ids)}", project_ids)

    async def projects(self) -> list[str]:
        """The projects with something in the trash."""
        rows = await self._db.read(
            lambda cur: cur.execute("SELECT DISTINCT project_id FROM trash").fetchall()
        )
        return [row[0] for row in rows]

    async def older_than(self, before: datetime) -> list[TrashEntry]:
        """Entries trashed before ``before``, oldest first."""
        found = await self._db.read(_entries, "trashed_at < ?", [to_naive(before)])
        return found[::-1]

    async def restore(self, entry_id: str, *, audit: Sequence[EventDraft]) -> TrashEntry:
        """Bring the entry's objects back; Conflict when what holds it is in the trash."""
        return await self._db.audited_write(audit, _restore, entry_id)

    async def purge(
        self,
        entry_ids: list[str],
        *,
        audit: Callable[[Purged], Sequence[EventDraft]],
        refuse_held: bool = True,
    ) -> Purged:
        """Delete the rows of the entries' objects (and of entries inside purged projects),
        in one transaction. Entries purged or restored meanwhile are left out; entries a
        legal hold covers are refused (Conflict naming the hold), or with ``refuse_held``
        false left in the trash and listed in ``held``."""
        purged = await self._db.audited_write(
            audit, _purge, entry_ids, self._db.drop_points, False, refuse_held
        )
        await self._db.drop_purged_points()
        return purged

    async def would_purge(self, entry_ids: list[str]) -> Purged:
        """What :meth:`purge` would remove now."""
        return await self._db.read(_purge, entry_ids, self._db.drop_points, True, False)

    async def referenced(self, digests: list[str]) -> set[str]:
        """Those of ``digests`` some row still refers to."""
        files = [(digest, 0) for digest in digests]
        gone = await self._db.read(_unreferenced, files, [])
        return set(digests) - {digest for digest, _ in gone}
