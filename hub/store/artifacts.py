"""Files logged with a run or a logged model: a path per owner, the bytes in the object store.

A run's file may be in the trash on its own (as "RUN_ID/path"): lists and reads leave it out,
and a new file logged at its path takes its place, as logging over a file does (its entry
leaves the trash; the old bytes go at the next garbage collection)."""

from __future__ import annotations

from collections.abc import Sequence

from hub.domain.audit import EventDraft
from hub.domain.tracking import ArtifactRecord
from hub.store._rows import record_of, row_of
from hub.store.database import Cursor, Database
from hub.store.hidden import live

_COLUMNS = "owner_kind, owner_id, path, digest, size, created_by, created_at"


_TRASH_ID = "owner_id || '/' || path"


def _put(cur: Cursor, artifact: ArtifactRecord) -> ArtifactRecord:
    """Record the file, replacing what was at that path before (MLflow overwrites too)."""
    if artifact.owner_kind == "run":
        trashed = [f"{artifact.owner_id}/{artifact.path}"]
        cur.execute(
            "DELETE FROM trash WHERE id IN (SELECT entry_id FROM trashed WHERE kind = "
            "'artifact' AND object_id = ?)",
            trashed,
        )
        cur.execute("DELETE FROM trashed WHERE kind = 'artifact' AND object_id = ?", trashed)
    cur.execute(
        "DELETE FROM artifacts WHERE owner_kind = ? AND owner_id = ? AND path = ?",
        [artifact.owner_kind, artifact.owner_id, artifact.path],
    )
    cur.execute(
        f"INSERT INTO artifacts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", row_of(artifact)
    )
    return artifact


def _under(cur: Cursor, owner_kind: str, owner_id: str, prefix: str) -> list[ArtifactRecord]:
    rows = cur.execute(
        f"SELECT {_COLUMNS} FROM artifacts WHERE owner_kind = ? AND owner_id = ? "
        f"AND (? = '' OR starts_with(path, ?)) AND {live('artifact', _TRASH_ID)} ORDER BY path",
        [owner_kind, owner_id, prefix, prefix],
    ).fetchall()
    return [record_of(ArtifactRecord, row) for row in rows]


class ArtifactStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, artifact: ArtifactRecord, *, audit: Sequence[EventDraft]) -> ArtifactRecord:
        return await self._db.audited_write(audit, _put, artifact)

    async def under(self, owner_kind: str, owner_id: str, prefix: str = "") -> list[ArtifactRecord]:
        """The owner's files whose path starts with ``prefix`` (all of them for ``""``)."""
        return await self._db.read(_under, owner_kind, owner_id, prefix)

    async def one(self, owner_kind: str, owner_id: str, path: str) -> ArtifactRecord | None:
        found = [a for a in await self.under(owner_kind, owner_id, path) if a.path == path]
        return found[0] if found else None

    def referenced_objects_sync(self) -> set[str]:
        """Every object some artifact refers to (kept by the start-up sweep)."""
        rows = self._db.read_sync(
            lambda cur: cur.execute("SELECT DISTINCT digest FROM artifacts").fetchall()
        )
        return {row[0] for row in rows}
