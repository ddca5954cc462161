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

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import duckdb

from hub.errors import StoreUnavailable

Cursor = duckdb.DuckDBPyConnection
CATALOG = "salon"  # the name the PostgreSQL database is attached under
WRITE_LOCK = 0x5A_4C_4F_4E  # the advisory lock every hub's writes take, in turn ("SALON")


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

    def __init__(self, url: str, connections: int = 12) -> None:
        self.url = url
        self.connections = connections  # kept open to PostgreSQL by this hub

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
        self.prepare(connection)
        return connection

    def reason(self, error: Exception) -> str:
        """The first line of a driver's error, the password hidden."""
        return str(error).splitlines()[0].replace(self.url, self.describe())

    def prepare(self, cursor: Cursor) -> None:
        cursor.execute(f"USE {CATALOG}")

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


def backend_for(database_url: str | None, data_dir: Path, connections: int = 12) -> Backend:
    """The backend a hub's settings name: PostgreSQL for a ``postgresql://`` URL (with a pool
    of ``connections``), else the DuckDB file in the data folder."""
    if not database_url:
        return Embedded(data_dir / "salon.duckdb")
    if urlsplit(database_url).scheme not in ("postgresql", "postgres"):
        raise StoreUnavailable(
            "SALON_DATABASE_URL names a PostgreSQL database, e.g. "
            "postgresql://salon:secret@db.internal:5432/salon (empty: the DuckDB file in "
            "SALON_DATA_DIR)."
        )
    return Shared(database_url, connections)
