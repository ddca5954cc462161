"""Where Salon's tables live: a DuckDB file one hub owns (the default), or a PostgreSQL database
that any number of hubs share.

Both are reached through DuckDB with the same SQL. For PostgreSQL the hub keeps an in-memory
DuckDB that attaches the database with DuckDB's ``postgres`` extension (loaded from the
``duckdb-extension-postgres-scanner`` wheel: nothing is downloaded at run time): queries run in
DuckDB, reading and writing PostgreSQL's tables.

What differs is how a write keeps the audit chain whole. One hub serialises its writes with a
lock in the process and keeps the chain's head in memory. Hubs sharing PostgreSQL take a
transaction-scoped advisory lock in PostgreSQL instead, at ``READ COMMITTED`` so that, once the
lock is held, the transaction sees every change the other hubs committed, and read the head
from the table.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import duckdb

from hub.errors import StoreUnavailable
from hub.store.remote import httpfs_extension

Cursor = duckdb.DuckDBPyConnection
CATALOG = "salon"  # the name the PostgreSQL database is attached under
WRITE_LOCK = 0x5A_4C_4F_4E  # the advisory lock every hub's writes take, in turn ("SALON")


LAKE = "salon_lake"  # the DuckLake catalog metric points are kept in on the shared backend
MOVED = "moved-from-postgresql"  # the batch of points moved out of PostgreSQL's table
# What libpq says when a connection is refused or cut. The postgres extension raises most of
# these as IO errors, but a connection cut in the middle of a statement is a plain error.
CONNECTION_LOST = (
    "server closed the connection",
    "connection to server",
    "no connection to the server",
    "terminating connection",
    "the database system is",
    "SSL connection has been closed",
)


def _begin(cursor: Cursor) -> None:
    cursor.execute("BEGIN TRANSACTION")


@contextlib.contextmanager
def committed(cursor: Cursor, begin: Callable[[Cursor], None] = _begin) -> Iterator[Cursor]:
    """``cursor`` in a transaction started by ``begin`` (a backend's takes the hubs' lock),
    committed on leaving and rolled back on an error, including one of ``begin`` itself after
    its ``BEGIN`` (taking the lock)."""
    try:
        begin(cursor)
        yield cursor
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a lost connection has nothing to undo
            cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")


def ducklake_extension() -> Path:
    """The ducklake extension file shipped in the ``duckdb-extension-ducklake`` wheel."""
    import duckdb_extension_ducklake

    folder = Path(duckdb_extension_ducklake.__file__).parent / "extensions"
    return next(folder.glob("*/ducklake.duckdb_extension"))


def postgres_extension() -> Path:
    """The postgres extension file shipped in the ``duckdb-extension-postgres-scanner`` wheel."""
    import duckdb_extension_postgres_scanner

    folder = Path(duckdb_extension_postgres_scanner.__file__).parent / "extensions"
    return next(folder.glob("*/postgres_scanner.duckdb_extension"))


class Backend(Protocol):
    shared: bool  # other hubs may write to the same tables

    def describe(self) -> str: ...

    def connect(self, config: dict[str, Any]) -> Cursor: ...

    def prepare(self, cursor: Cursor) -> None:
        """Make a new cursor see Salon's tables by their plain names."""

    def begin(self, cursor: Cursor) -> None:
        """Start a write transaction that no other hub's write can interleave with."""

    def run_script(self, cursor: Cursor, script: str) -> None:
        """Run a schema script (several statements) in the cursor's transaction."""


class Embedded:
    """A DuckDB file in the data folder; one hub holds it."""

    shared = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return str(self.path)

    def connect(self, config: dict[str, Any]) -> Cursor:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(str(self.path), config=config)
        except duckdb.IOException as exc:
            raise StoreUnavailable(
                f"Cannot open {self.path}: {exc}. Is a hub already running on this data "
                "directory? Stop it first, or set SALON_DATA_DIR to another folder."
            ) from None

    def prepare(self, cursor: Cursor) -> None:
        return None

    def begin(self, cursor: Cursor) -> None:
        cursor.execute("BEGIN TRANSACTION")

    def run_script(self, cursor: Cursor, script: str) -> None:
        cursor.execute(script)


class Shared:
    """A PostgreSQL database (``SALON_DATABASE_URL``) that many hubs use at once."""

    shared = True

    def __init__(self, url: str, connections: int = 12, points: str | None = None) -> None:
        """``points``: the folder or ``s3://`` prefix of the DuckLake that holds the metric
        points (its catalog in the same database); None: they stay in PostgreSQL's table
        (only for tools that never touch points)."""
        self.url = url
        self.connections = connections  # kept open to PostgreSQL by this hub
        self.points = points

    def describe(self) -> str:
        """The URL without its password."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()

    def connect(self, config: dict[str, Any]) -> Cursor:
        connection = duckdb.connect(":memory:", config=config)
        connection.execute(f"LOAD '{postgres_extension()}'")
        # Past the pool's size, every transaction opens a PostgreSQL connection of its own and
        # closes it after: under load the hub spent its time connecting.
        connection.execute(f"SET pg_pool_max_connections = {int(self.connections)}")
        literal = self.url.replace("'", "''")
        try:
            connection.execute(f"ATTACH '{literal}' AS {CATALOG} (TYPE postgres)")
        except duckdb.Error as exc:
            connection.close()
            raise StoreUnavailable(
                f"Cannot reach the database of SALON_DATABASE_URL ({self.describe()}): "
                f"{self.reason(exc)}. Check the URL, that PostgreSQL runs and that it accepts "
                "this host."
            ) from None
        if self.points is not None:
            connection.execute(f"LOAD '{ducklake_extension()}'")
            if self.points.startswith("s3://"):  # its keys come with the store's S3 access
                connection.execute(f"LOAD '{httpfs_extension()}'")
            try:
                self._attach_points(connection, literal)
            except duckdb.Error as exc:
                connection.close()
                if "does not match existing data path" not in str(exc):
                    raise StoreUnavailable(
                        f"Cannot open the metric points of SALON_DATABASE_URL "
                        f"({self.describe()}): {self.reason(exc)}."
                    ) from None
                kept = str(exc).split('existing data path in the catalog "', 1)[-1]
                raise StoreUnavailable(
                    f"This database's metric points are kept at {kept.split(chr(34))[0]}, "
                    f"not at {self.points}/: give every hub the same SALON_OBJECT_STORE."
                ) from None
        self.prepare(connection)
        return connection

    def _attach_points(self, connection: Cursor, literal: str) -> None:
        """Attach the points' DuckLake. The first hub to attach makes its catalog tables;
        hubs starting at that moment race PostgreSQL's ``CREATE SCHEMA IF NOT EXISTS`` and
        lose with a duplicate key: they try again, and find the catalog made."""
        assert self.points is not None
        where = self.points.rstrip("/").replace("'", "''")
        statement = (
            f"ATTACH 'ducklake:postgres:{literal}' AS {LAKE} "
            f"(DATA_PATH '{where}/', METADATA_SCHEMA 'ducklake')"
        )
        for attempt in range(5):
            try:
                connection.execute(statement)
                return
            except duckdb.Error as exc:
                racing = "duplicate key" in str(exc) or "already exists" in str(exc)
                if not racing or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def lost(self, error: duckdb.Error) -> bool:
        """Whether ``error`` says the database went away (not that a statement was wrong)."""
        said = str(error)
        return isinstance(error, duckdb.IOException) or any(m in said for m in CONNECTION_LOST)

    def reason(self, error: Exception) -> str:
        """The first line of a driver's error, the password hidden."""
        return str(error).splitlines()[0].replace(self.url, self.describe())

    def prepare(self, cursor: Cursor) -> None:
        cursor.execute(f"USE {CATALOG}")
        if self.points is not None:  # ``metrics`` is the lake's table
            cursor.execute(f"SET search_path = '{CATALOG}.public,{LAKE}.main'")

    def settle_points(self, connection: Cursor) -> None:
        """Make the DuckLake's ``metrics`` table, and move the points of PostgreSQL's own
        table into it (a database made before points moved, or filled by ``salon db copy``),
        once: hubs starting together take turns on the write lock. The moved rows carry a
        mark, so a move a crash cut short is done again whole."""
        if self.points is None:
            return
        held, lake = connection.cursor(), connection.cursor()
        try:
            self.prepare(held)
            self.prepare(lake)
            with committed(held, self.begin):
                lake.execute(
                    f"CREATE TABLE IF NOT EXISTS {LAKE}.main.metrics (series_id BIGINT, "
                    "step BIGINT, ts BIGINT, value DOUBLE, batch VARCHAR)"
                )
                # Asked of PostgreSQL, once the lock is ours: DuckDB's list of tables may be
                # from before another hub moved them.
                found = held.execute(
                    "SELECT * FROM postgres_query(?, 'SELECT to_regclass(''public.metrics'') "
                    "IS NOT NULL')",
                    [CATALOG],
                ).fetchone()
                if found and found[0]:
                    with committed(lake):
                        lake.execute(f"DELETE FROM {LAKE}.main.metrics WHERE batch = '{MOVED}'")
                        lake.execute(
                            f"INSERT INTO {LAKE}.main.metrics SELECT series_id, step, ts, "
                            f"value, '{MOVED}' FROM {CATALOG}.public.metrics"
                        )
                    self.execute(held, "DROP TABLE public.metrics")
            held.execute("CALL pg_clear_cache()")  # ``metrics`` is the lake's from now on
        finally:
            held.close()
            lake.close()

    def begin(self, cursor: Cursor) -> None:
        cursor.execute("BEGIN TRANSACTION")
        self.execute(cursor, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        self.execute(cursor, f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    def run_script(self, cursor: Cursor, script: str) -> None:
        """DuckDB runs each statement on PostgreSQL's tables, except ``ALTER TABLE``: the
        extension would send a column's DuckDB type name (``DOUBLE``), which PostgreSQL does
        not know, so PostgreSQL runs those as written (the scripts use names both know, such
        as ``FLOAT8``)."""
        for statement in duckdb.extract_statements(script):
            if statement.type == duckdb.StatementType.ALTER:
                self.execute(cursor, statement.query)
                cursor.execute("CALL pg_clear_cache()")  # DuckDB sees the new columns
            else:
                cursor.execute(statement.query)

    def run_native(self, cursor: Cursor, script: str) -> None:
        """Run a script written for PostgreSQL (``schema/postgres``) in PostgreSQL itself."""
        for statement in duckdb.extract_statements(script):
            self.execute(cursor, statement.query)
        cursor.execute("CALL pg_clear_cache()")

    @staticmethod
    def execute(cursor: Cursor, statement: str) -> None:
        """Run a statement in PostgreSQL itself, in the cursor's transaction."""
        cursor.execute("CALL postgres_execute(?, ?)", [CATALOG, statement])


def backend_for(
    database_url: str | None, data_dir: Path, connections: int = 12, points: str | None = None
) -> Backend:
    """The backend a hub's settings name: PostgreSQL for a ``postgresql://`` URL (with a pool
    of ``connections``, metric points in a DuckLake at ``points``), else the DuckDB file in
    the data folder."""
    if not database_url:
        return Embedded(data_dir / "salon.duckdb")
    if urlsplit(database_url).scheme not in ("postgresql", "postgres"):
        raise StoreUnavailable(
            "SALON_DATABASE_URL names a PostgreSQL database, e.g. "
            "postgresql://salon:secret@db.internal:5432/salon (empty: the DuckDB file in "
            "SALON_DATA_DIR)."
        )
    return Shared(database_url, connections, points)
