"""Datasets, their immutable versions (manifests of Parquet objects) and column notes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hub.domain.audit import EventDraft
from hub.domain.data import (
    Annotation,
    ColumnNote,
    DatasetFile,
    DatasetRecord,
    DatasetUse,
    DatasetVersionRecord,
)
from hub.errors import InvalidInput, LimitExceeded
from hub.run_filter import And, Filter, Not, Or
from hub.store._rows import among, mapping_of, record_of, row_of, schema_of, to_naive, to_utc
from hub.store.database import Cursor, Database
from hub.store.dataset_diffs import key_changes, quote
from hub.store.hidden import live
from hub.store.sorted_pages import Sort, sorted_numbers
from hub.store.trash import keep_name

_DATASET = "id, project_id, name, description, created_at, created_by, fixed_schema"
_VERSION = (
    "id, dataset_id, project_id, number, parent_id, author, message, created_at, content_hash, "
    "row_count, size_bytes, schema_json, profile_json, source"
)


def _dataset(row: tuple[Any, ...]) -> DatasetRecord:
    return DatasetRecord(row[0], row[1], row[2], row[3], to_utc(row[4]), row[5], bool(row[6]))


def _version(row: tuple[Any, ...]) -> DatasetVersionRecord:
    return record_of(DatasetVersionRecord, row, {"schema": schema_of, "profile": mapping_of})


def _dataset_by_name(
    cur: Cursor, project_id: str, name: str, trashed: bool = False
) -> DatasetRecord | None:
    shown = "" if trashed else f" AND {live('dataset', 'id')}"
    row = cur.execute(
        f"SELECT {_DATASET} FROM datasets WHERE project_id = ? AND name = ?{shown} "
        "ORDER BY id LIMIT 1",
        [project_id, name],
    ).fetchone()
    return None if row is None else _dataset(row)


def _latest(cur: Cursor, dataset_id: str) -> DatasetVersionRecord | None:
    """The newest version not in the trash."""
    row = cur.execute(
        f"SELECT {_VERSION} FROM dataset_versions WHERE dataset_id = ? AND "
        f"{live('dataset_version', 'id')} ORDER BY number DESC LIMIT 1",
        [dataset_id],
    ).fetchone()
    return None if row is None else _version(row)


def _next_number(cur: Cursor, dataset_id: str) -> int:
    """One past the highest number given, versions in the trash included (numbers are never
    given twice)."""
    row = cur.execute(
        "SELECT coalesce(max(number), 0) FROM dataset_versions WHERE dataset_id = ?", [dataset_id]
    ).fetchone()
    return int(row[0]) + 1 if row else 1


def _insert_dataset(cur: Cursor, record: DatasetRecord) -> DatasetRecord:
    existing = _dataset_by_name(cur, record.project_id, record.name, trashed=True)
    if existing is not None:
        keep_name(cur, "dataset", existing.id, existing.name)
        return existing
    cur.execute(
        f"INSERT INTO datasets ({_DATASET}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            record.id,
            record.project_id,
            record.name,
            record.description,
            to_naive(record.created_at),
            record.created_by,
            record.fixed_schema,
        ],
    )
    return record


def _insert_version(
    cur: Cursor, version: DatasetVersionRecord, files: Sequence[DatasetFile]
) -> tuple[DatasetVersionRecord, bool]:
    latest = _latest(cur, version.dataset_id)
    if latest is not None and latest.content_hash == version.content_hash:
        return latest, False
    version = dataclasses.replace(
        version,
        number=_next_number(cur, version.dataset_id),
        parent_id=version.parent_id or (latest.id if latest else None),
    )
    values = row_of(version)
    cur.execute(
        f"INSERT INTO dataset_versions ({_VERSION}) VALUES ({', '.join('?' * len(values))})", values
    )
    cur.executemany(
        "INSERT INTO dataset_files (version_id, position, object_hash, row_count, size_bytes, "
        "location, source_mtime, source_etag, row_group_rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                version.id,
                i,
                f.object_hash,
                f.row_count,
                f.size_bytes,
                f.location,
                f.source_mtime,
                f.source_etag,
                f.row_group_rows,
            ]
            for i, f in enumerate(files)
        ],
    )
    return version, True


def filter_sql(node: Filter, params: list[Any]) -> str:
    """SQL for a dataset filter tree; every value goes in as a parameter."""
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(filter_sql(item, params) for item in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {filter_sql(node.item, params)})"
    column = quote(node.field.key)
    if node.op in ("is", "is not"):
        return f"{column} {node.op.upper()} NULL"
    if node.op in ("in", "not in"):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        params.extend(values)
        return f"{column} {node.op.upper()} ({', '.join('?' * len(values))})"
    params.append(node.value)
    if node.op in ("like", "ilike"):
        return f"{column}::VARCHAR {node.op.upper()} ?"
    return f"{column} {node.op} ?"


def _rows(
    cur: Cursor,
    paths: list[str],
    columns: list[str],
    where: Filter | None,
    order_by: list[tuple[str, bool]],
    offset: int,
    limit: int,
    total_rows: int,
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of rows (each ending with its row number) and how many rows match.

    Sorted pages are found in two steps: the page's row numbers from the sort columns alone
    (``sorted_pages``), then the page's rows by number, so a page deep into ten million rows
    does not drag every column through the sort. Counting is its own query (a window count over
    the whole match made every page as slow as a full scan); without a filter the count is
    already known."""
    selected = ", ".join(quote(c) for c in columns)
    params: list[Any] = [paths]
    condition = "TRUE" if where is None else filter_sql(where, params)
    source = "read_parquet(?, file_row_number = true)"
    try:
        if order_by:
            numbers = sorted_numbers(cur, Sort(source, condition, params, order_by), offset, limit)
            found = cur.execute(
                f"SELECT {selected}, file_row_number FROM {source} "
                "WHERE file_row_number IN (SELECT unnest(?))",
                [paths, numbers],
            ).fetchall()
            position = {number: i for i, number in enumerate(numbers)}
            found.sort(key=lambda row: position[row[-1]])
        else:
            found = cur.execute(
                f"SELECT {selected}, file_row_number FROM {source} WHERE {condition} "
                f"LIMIT {int(limit)} OFFSET {int(offset)}",
                params,
            ).fetchall()
        if where is None:
            return found, total_rows
        total = cur.execute(f"SELECT count(*) FROM {source} WHERE {condition}", params).fetchone()
    except (duckdb.ConversionException, duckdb.BinderException) as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidInput(
            f"The filter compares a column with a value of another kind ({reason}).",
            field="filter",
        ) from None
    return found, int(total[0]) if total else 0


# A row's latest annotation is its annotation, as a whole: a label sent alone clears the note
# and vote of an earlier one. Ties (one call naming a row twice) are settled by the service.
_LATEST_ANNOTATIONS = """SELECT row_number, label, note, vote, author, created_at
    FROM dataset_annotations WHERE version_id = ?
    QUALIFY row_number() OVER (PARTITION BY row_number ORDER BY created_at DESC) = 1"""


def _write_annotated(
    cur: Cursor, paths: list[str], version_id: str, columns: list[str], target: str
) -> None:
    added = {"label": "label", "annotation_note": "note", "vote": "vote"}
    kept = ", ".join(f"d.{quote(c)}" for c in columns if c not in added)
    merged = ", ".join(
        f"CASE WHEN a.row_number IS NULL THEN d.{quote(name)} ELSE a.{source} END AS {quote(name)}"
        if name in columns
        else f"a.{source} AS {quote(name)}"
        for name, source in added.items()
    )
    selected = ", ".join(part for part in (kept, merged) if part)
    relation = cur.sql(
        f"""WITH a AS ({_LATEST_ANNOTATIONS})
            SELECT {selected}
            FROM read_parquet(?, file_row_number = true) d
            LEFT JOIN a ON a.row_number = d.file_row_number
            ORDER BY d.file_row_number""",
        params=[version_id, paths],
    )
    relation.write_parquet(target, compression="zstd")


def _rows_at(
    cur: Cursor, paths: list[str], columns: list[str], numbers: list[int]
) -> dict[int, tuple[Any, ...]]:
    selected = ", ".join(quote(c) for c in columns)
    found = cur.execute(
        f"SELECT file_row_number, {selected} FROM read_parquet(?, file_row_number = true) "
        "WHERE file_row_number IN (SELECT unnest(?))",
        [paths, numbers],
    ).fetchall()
    return {int(row[0]): tuple(row[1:]) for row in found}


def _distinct(cur: Cursor, paths: list[str], column: str, limit: int) -> list[str]:
    rows = cur.execute(
        f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) AS v FROM read_parquet(?) "
        f"WHERE {quote(column)} IS NOT NULL ORDER BY v LIMIT {int(limit)}",
        [paths],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _write_reviewed(
    cur: Cursor,
    paths: list[str],
    columns: list[str],
    prediction: str,
    verdicts: list[tuple[int, bool | None, str | None, int]],
    target: str,
) -> None:
    """Every row with the reviewers' verdict: review_correct, review_label, review_count."""
    added = ("review_correct", "review_label", "review_count")
    kept = ", ".join(f"d.{quote(c)}" for c in columns if c not in added)
    reviewed = pa.table(
        {
            "row_number": pa.array([v[0] for v in verdicts], pa.int64()),
            "correct": pa.array([v[1] for v in verdicts], pa.bool_()),
            "label": pa.array([v[2] for v in verdicts], pa.string()),
            "count": pa.array([v[3] for v in verdicts], pa.int32()),
        }
    )
    cur.register("reviewed", reviewed)
    try:
        relation = cur.sql(
            f"""SELECT {kept}, r.correct AS review_correct,
                       CASE WHEN r.correct THEN CAST(d.{quote(prediction)} AS VARCHAR)
                            ELSE r.label END AS review_label,
                       coalesce(r.count, 0) AS review_count
                FROM read_parquet(?, file_row_number = true) d
                LEFT JOIN reviewed r ON r.row_number = d.file_row_number
                ORDER BY d.file_row_number""",
            params=[paths],
        )
        relation.write_parquet(target, compression="zstd")
    finally:
        cur.unregister("reviewed")


def _batches(cur: Cursor, paths: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    yield from cur.read_parquet(paths).fetch_record_batch(batch_rows)


class DatasetStore:
    """Reads and writes datasets, versions and column notes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, record: DatasetRecord, *, audit: Sequence[EventDraft]) -> DatasetRecord:
        """Store a dataset, or return the project's existing one of the same name."""
        return await self._db.audited_write(audit, _insert_dataset, record)

    async def set_fixed_schema(
        self, dataset_id: str, fixed: bool, *, audit: Sequence[EventDraft]
    ) -> None:
        await self._db.audited_write(
            audit,
            lambda cur: cur.execute(
                "UPDATE datasets SET fixed_schema = ? WHERE id = ?", [fixed, dataset_id]
            ),
        )

    async def by_name(
        self, project_id: str, name: str, *, trashed: bool = False
    ) -> DatasetRecord | None:
        """The project's dataset called ``name``; one in the trash only with ``trashed``."""
        return await self._db.read(_dataset_by_name, project_id, name, trashed)

    async def of_projects(self, project_ids: list[str]) -> list[DatasetRecord]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_DATASET} FROM datasets WHERE project_id IN {among(project_ids)} "
                f"AND {live('dataset', 'id')} ORDER BY name",
                project_ids,
            ).fetchall()
        )
        return [_dataset(row) for row in rows]

    async def add_version(
        self,
        version: DatasetVersionRecord,
        files: Sequence[DatasetFile],
        *,
        audit: Sequence[EventDraft]
        | Callable[[tuple[DatasetVersionRecord, bool]], Sequence[EventDraft]],
    ) -> tuple[DatasetVersionRecord, bool]:
        """Store a version (numbered next); when its content equals the latest version's,
        store nothing and return that one. The flag says whether a version was added;
        ``audit`` may depend on both."""
        return await self._db.audited_write(audit, _insert_version, version, files)

    async def versions(self, dataset_ids: list[str]) -> list[DatasetVersionRecord]:
        """Every version of these datasets, newest first."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_VERSION} FROM dataset_versions WHERE dataset_id IN {among(dataset_ids)} "
                f"AND {live('dataset_version', 'id')} ORDER BY dataset_id, number DESC",
                dataset_ids,
            ).fetchall()
        )
        return [_version(row) for row in rows]

    async def files(self, version_id: str) -> list[DatasetFile]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT object_hash, row_count, size_bytes, location, source_mtime, source_etag, "
                "row_group_rows FROM dataset_files WHERE version_id = ? ORDER BY position",
                [version_id],
            ).fetchall()
        )
        return [DatasetFile(*row) for row in rows]

    async def rows(
        self,
        paths: list[str],
        columns: list[str],
        where: Filter | None,
        order_by: list[tuple[str, bool]],
        offset: int,
        limit: int,
        total_rows: int,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """A page of rows matching ``where`` from the version's objects (each row ending with
        its number in the version), and how many rows match in all (``total_rows`` when there
        is no filter). Column names are checked against the schema by the caller."""
        return await self._db.read(
            _rows, paths, columns, where, order_by, offset, limit, total_rows
        )

    async def rows_at(
        self, paths: list[str], columns: list[str], numbers: list[int]
    ) -> dict[int, tuple[Any, ...]]:
        """The rows with these numbers, by number."""
        return await self._db.read(_rows_at, paths, columns, numbers)

    async def distinct(self, paths: list[str], column: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct values of a column, as text, in order."""
        return await self._db.read(_distinct, paths, column, limit)

    async def write_reviewed(
        self,
        paths: list[str],
        columns: list[str],
        prediction: str,
        verdicts: list[tuple[int, bool | None, str | None, int]],
        target: Path,
    ) -> None:
        await self._db.read(_write_reviewed, paths, columns, prediction, verdicts, str(target))

    def batches(self, paths: list[str], batch_rows: int = 100_000) -> AsyncIterator[pa.RecordBatch]:
        """Every row as Arrow record batches, produced on a worker thread."""
        return self._db.stream(_batches, paths, batch_rows)

    def referenced_objects_sync(self) -> set[str]:
        """Every object hash some version refers to."""
        rows = self._db.read_sync(
            lambda cur: cur.execute(
                "SELECT DISTINCT object_hash FROM dataset_files WHERE location IS NULL"
            ).fetchall()
        )
        return {row[0] for row in rows}

    async def key_changes(
        self, before: list[str], after: list[str], key: str, compared: list[str]
    ) -> tuple[int, int, int, int]:
        """Rows added, removed, changed by ``key``, and repeated keys (see
        :func:`hub.store.dataset_diffs.key_changes`)."""
        try:
            return await self._db.read(key_changes, before, after, key, compared)
        except LimitExceeded:
            raise LimitExceeded(
                f"Matching the rows of both versions by {key} needed more memory than the hub "
                f"gives a request ({self._db.memory_limit}). Compare without a key (the column "
                "changes need none), or raise SALON_DUCKDB_MEMORY_LIMIT.",
                field="key",
            ) from None

    async def record_use(self, use: DatasetUse, *, audit: Sequence[EventDraft]) -> bool:
        """Record that a run used a version (once per run, version and direction)."""

        def insert(cur: Cursor) -> bool:
            seen = cur.execute(
                "SELECT 1 FROM run_datasets WHERE run_id = ? AND version_id = ? AND direction = ?",
                [use.run_id, use.version_id, use.direction],
            ).fetchone()
            if seen:
                return False
            cur.execute(
                "INSERT INTO run_datasets VALUES (?, ?, ?, ?, ?, ?)",
                [
                    use.run_id,
                    use.version_id,
                    use.dataset_id,
                    use.project_id,
                    use.direction,
                    to_naive(use.recorded_at),
                ],
            )
            return True

        return await self._db.audited_write(audit, insert)

    async def uses(
        self, *, run_ids: list[str] | None = None, version_ids: list[str] | None = None
    ) -> list[DatasetUse]:
        """Lineage rows for these runs, or for these versions."""
        column, ids = ("run_id", run_ids) if run_ids is not None else ("version_id", version_ids)
        if not ids:
            return []
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT run_id, version_id, dataset_id, project_id, direction, recorded_at "
                f"FROM run_datasets WHERE {column} IN {among(ids)} ORDER BY recorded_at",
                ids,
            ).fetchall()
        )
        return [DatasetUse(r[0], r[1], r[2], r[3], r[4], to_utc(r[5])) for r in rows]

    async def by_ids(self, ids: list[str]) -> dict[str, DatasetRecord]:
        if not ids:  # the audit trail's page names datasets only now and then
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_DATASET} FROM datasets WHERE id IN {among(ids)} "
                f"AND {live('dataset', 'id')}",
                ids,
            ).fetchall()
        )
        return {row[0]: _dataset(row) for row in rows}

    async def versions_by_ids(self, ids: list[str]) -> dict[str, DatasetVersionRecord]:
        if not ids:
            return {}
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"SELECT {_VERSION} FROM dataset_versions WHERE id IN {among(ids)} "
                f"AND {live('dataset_version', 'id')}",
                ids,
            ).fetchall()
        )
        return {row[0]: _version(row) for row in rows}

    async def annotate(
        self,
        version_id: str,
        dataset_id: str,
        items: Sequence[Annotation],
        *,
        audit: Sequence[EventDraft],
    ) -> int:
        """Store annotations of a version's rows; returns how many."""

        def insert(cur: Cursor) -> int:
            cur.executemany(
                "INSERT INTO dataset_annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        version_id,
                        dataset_id,
                        a.row_number,
                        a.label,
                        a.note,
                        a.vote,
                        a.author,
                        to_naive(a.created_at),
                    ]
                    for a in items
                ],
            )
            return len(items)

        return await self._db.audited_write(audit, insert)

    async def annotations(self, version_id: str) -> list[Annotation]:
        """The latest annotation of each annotated row (as a whole), by row number."""
        rows = await self._db.read(
            lambda cur: cur.execute(
                f"{_LATEST_ANNOTATIONS} ORDER BY row_number", [version_id]
            ).fetchall()
        )
        return [Annotation(r[0], r[1], r[2], r[3], r[4], to_utc(r[5])) for r in rows]

    async def write_annotated(
        self, paths: list[str], version_id: str, columns: list[str], target: Path
    ) -> None:
        """Write the version's rows with its latest annotations as columns ``label``,
        ``annotation_note`` and ``vote`` (a row's new annotation replaces the values it had)."""
        await self._db.read(_write_annotated, paths, version_id, columns, str(target))

    async def notes(self, dataset_id: str) -> dict[str, ColumnNote]:
        rows = await self._db.read(
            lambda cur: cur.execute(
                "SELECT dataset_id, name, description, pii, updated_by, updated_at "
                "FROM dataset_columns WHERE dataset_id = ?",
                [dataset_id],
            ).fetchall()
        )
        return {r[1]: ColumnNote(r[0], r[1], r[2], r[3], r[4], to_utc(r[5])) for r in rows}

    async def set_note(self, note: ColumnNote, *, audit: Sequence[EventDraft]) -> ColumnNote:
        def replace(cur: Cursor) -> ColumnNote:
            cur.execute(
                "DELETE FROM dataset_columns WHERE dataset_id = ? AND name = ?",
                [note.dataset_id, note.name],
            )
            cur.execute(
                "INSERT INTO dataset_columns VALUES (?, ?, ?, ?, ?, ?)",
                [
                    note.dataset_id,
                    note.name,
                    note.description,
                    note.pii,
                    note.updated_by,
                    to_naive(note.updated_at),
                ],
            )
            return note

        return await self._db.audited_write(audit, replace)
