"""Numbered schema migrations, each applied once and recorded with its version.

``hub/store/schema/NNN_name.sql`` below 900 are migrations, applied in number order, each in a
transaction of its own with its row in ``schema_migrations``: one that fails leaves the store as
it was before it, and the hub does not start. Files from 900 on run at every start (the indexes
rebuilt, see ``900_indexes.sql``).

Migrations 1 to 16 were written before versions were recorded, to be replayed at every start
(``IF NOT EXISTS``): a data folder of that time applies them again harmlessly and records them.
From 17 on a migration runs once and may rename, drop or backfill.

A data folder whose record names a migration this Salon does not have was written by a newer
Salon: it is refused, rather than run with a schema the code does not know.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hub.errors import StoreUnavailable
from hub.store.backends import Backend, Embedded

FOLDER = Path(__file__).with_name("schema")  # in the package: a wheel carries it
EVERY_START = 900  # files from this number on run at every start (a DuckDB file)
SHARED = FOLDER / "postgres"  # what a shared PostgreSQL database gets instead
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version      INTEGER NOT NULL PRIMARY KEY,
    name         VARCHAR NOT NULL,
    applied_at   TIMESTAMP NOT NULL,
    salon        VARCHAR NOT NULL          -- the Salon version that applied it
)"""


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    applied: list[int]
    pending: list[Migration]
    unknown: list[int]  # recorded, but not in this Salon: a newer one wrote the folder

    @property
    def current(self) -> int:
        return max(self.applied, default=0)


class MigrationError(StoreUnavailable):
    """The store cannot be brought to this Salon's schema; the message says why and what to do."""


def known(folder: Path | None = None) -> tuple[list[Migration], list[Path]]:
    """This Salon's migrations in order, and the scripts that run at every start."""
    migrations: list[Migration] = []
    every_start: list[Path] = []
    for path in sorted((folder or FOLDER).glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name} is not named NNN_name.sql.")
        number = int(match.group(1))
        if number >= EVERY_START:
            every_start.append(path)
        else:
            migrations.append(Migration(number, match.group(2), path))
    return migrations, every_start


def status(connection: duckdb.DuckDBPyConnection, folder: Path | None = None) -> Status:
    """What is applied and what is pending (reads only: works on a read-only connection)."""
    applied: list[int] = []
    if _exists(connection, "schema_migrations"):
        rows = connection.execute("SELECT version FROM schema_migrations ORDER BY version")
        applied = [int(row[0]) for row in rows.fetchall()]
    migrations, _ = known(folder)
    versions = {m.version for m in migrations}
    return Status(
        applied,
        [m for m in migrations if m.version not in applied],
        [v for v in applied if v not in versions],
    )


def status_of(backend: Backend) -> Status | None:
    """The migrations of a backend's database, read without writing to it; None when there is
    no DuckDB file yet."""
    if isinstance(backend, Embedded):
        return status_of_file(backend.path) if backend.path.is_file() else None
    connection = backend.connect({"autoload_known_extensions": False})
    try:
        return status(connection)
    finally:
        connection.close()


def status_of_file(path: Path) -> Status:
    """The migrations of the database file at ``path``, read without writing to it."""
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise MigrationError(
            f"Cannot open {path}: {str(exc).splitlines()[0]}. Is the hub running? Stop it first."
        ) from None
    try:
        return status(connection)
    finally:
        connection.close()


def _exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
    ).fetchone()
    return bool(row and row[0])


def _applied(connection: duckdb.DuckDBPyConnection, version: int) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM schema_migrations WHERE version = ?", [version]
    ).fetchone()
    return bool(row and row[0])


def has_data(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds Salon's tables already (not a new, empty file)."""
    return _exists(connection, "audit_events")


def upgrade(
    connection: duckdb.DuckDBPyConnection, backend: Backend, salon_version: str, *, allowed: bool
) -> list[Migration]:
    """Bring the store to this Salon's schema: refuse one a newer Salon wrote; with migrations
    pending, refuse unless ``allowed``, else back a DuckDB file up (when it holds data) and
    apply them. Returns what was applied. (A shared PostgreSQL database is backed up the way
    its operators back it up; the README says to do so before an upgrade.)"""
    path = backend.describe()
    found = status(connection)
    if found.unknown:
        raise MigrationError(
            f"{path} was last used by a newer Salon: it has migration(s) "
            f"{', '.join(f'{v:03d}' for v in found.unknown)}, which this Salon "
            f"({salon_version}) does not know. Run the Salon that wrote it, or a newer one."
        )
    if not found.pending:
        return []
    if not allowed:
        names = ", ".join(f"{m.version:03d} {m.name}" for m in found.pending)
        raise MigrationError(
            f"{path} needs {len(found.pending)} migration(s) before this Salon can use it "
            f"({names}). Run `salon db upgrade` (it backs the store up first), or set "
            "SALON_AUTO_MIGRATE=true."
        )
    if has_data(connection) and isinstance(backend, Embedded):
        backup(connection, backend.path, found.pending[0].version)
    backend.begin(connection)  # hubs starting together on a new database take turns
    connection.execute(_TABLE)
    connection.execute("COMMIT")
    return apply(connection, backend, found.pending, salon_version, found.current)


def backup(connection: duckdb.DuckDBPyConnection, path: Path, before: int) -> Path:
    """A copy of the database file before migration ``before``, next to the data folder's
    other files (``backups/``): written whole, then renamed, so a copy is never half of one."""
    connection.execute("CHECKPOINT")  # everything in the file, the write-ahead log empty
    folder = path.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{path.stem}-{stamp}-before-{before:03d}{path.suffix}"
    partial = target.with_name(target.name + ".part")
    try:
        shutil.copy2(path, partial)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise MigrationError(
            f"Could not back up {path} to {folder} before upgrading it ({exc.strerror or exc}); "
            "nothing was changed. Free some space, or set SALON_AUTO_MIGRATE=false and back up "
            "by hand."
        ) from None
    return target


def apply(
    connection: duckdb.DuckDBPyConnection,
    backend: Backend,
    pending: list[Migration],
    salon_version: str,
    current: int,
) -> list[Migration]:
    """Apply ``pending`` in order, each with its record in one transaction; stop at the first
    that fails, with the ones before it applied and it rolled back. Hubs starting together on
    a shared database take turns (the backend's write lock), and one skips what another has
    just applied."""
    done: list[Migration] = []
    for migration in pending:
        try:
            backend.begin(connection)
            if _applied(connection, migration.version):
                connection.execute("COMMIT")
                continue
            backend.run_script(connection, migration.path.read_text())
            connection.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                [
                    migration.version,
                    migration.name,
                    datetime.now(UTC).replace(tzinfo=None),
                    salon_version,
                ],
            )
            connection.execute("COMMIT")
        except duckdb.Error as exc:
            connection.execute("ROLLBACK")
            raise MigrationError(
                f"Migration {migration.version:03d} ({migration.name}) failed and was rolled "
                f"back: {str(exc).splitlines()[0][:300]}. The store is at migration "
                f"{max([m.version for m in done], default=current):03d}; the hub does not "
                "start until it succeeds."
            ) from None
        done.append(migration)
    return done
