"""The storage layer: the only code that imports duckdb or holds SQL.

``Store`` bundles one object per concept over one :class:`Database`. Every method returns frozen
records of ``hub/domain`` and runs on a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from hub.errors import StoreUnavailable
from hub.ids import new_id
from hub.settings import Settings
from hub.store import commits, migrations, transfer
from hub.store.access import AccessStore
from hub.store.activity import ActivityStore, DigestStore
from hub.store.artifacts import ArtifactStore
from hub.store.audit import AuditStore
from hub.store.backends import Backend, Embedded, Shared, backend_for, committed
from hub.store.bookings import BookingStore
from hub.store.cluster import ClusterStore
from hub.store.comments import CommentStore
from hub.store.database import Cursor, Database
from hub.store.dataset_erasure import ErasureStore
from hub.store.dataset_layout import DatasetLayoutStore
from hub.store.datasets import DatasetStore
from hub.store.failures import FailureStore
from hub.store.holds import HoldStore
from hub.store.leases import LeaseStore
from hub.store.logged_models import LoggedModelStore
from hub.store.metrics import MetricStore
from hub.store.models import ModelStore
from hub.store.oauth import OAuthStore
from hub.store.object_deletions import ObjectDeletions
from hub.store.objects import BucketObjects, FolderObjects, ObjectStore
from hub.store.pages import PageStore
from hub.store.privacy import PrivacyStore
from hub.store.projects import ProjectStore
from hub.store.remote import S3, RemoteError, S3Access
from hub.store.retention import RetentionStore
from hub.store.reviews import ReviewStore
from hub.store.runs import RunStore
from hub.store.secrets import SecretStore
from hub.store.share_links import ShareLinkStore
from hub.store.tasks import TaskStore
from hub.store.tokens import TokenStore
from hub.store.trash import TrashStore
from hub.store.users import UserStore
from hub.store.webhooks import WebhookStore


class Store:
    """Every store of Salon over one database, with the folder of its local files."""

    def __init__(
        self,
        db: Database,
        s3: S3Access | None = None,
        data_dir: Path | None = None,
        object_store: str = "",
    ) -> None:
        if data_dir is None:  # the DuckDB file's folder
            data_dir = db.path.parent
        self.db = db
        # Set when SALON_DATASET_ROOTS or SALON_OBJECT_STORE names S3 prefixes.
        self.s3 = S3(s3) if s3 else None
        self.projects = ProjectStore(db)
        self.runs = RunStore(db)
        self.metrics = MetricStore(db)
        self.tokens = TokenStore(db)
        self.users = UserStore(db)
        self.access = AccessStore(db)
        self.audit = AuditStore(db)
        self.oauth = OAuthStore(db)
        self.objects = objects_for(object_store, data_dir, self.s3)
        self.deletions = ObjectDeletions(self.objects)  # held while a backup copies objects
        self.scratch = data_dir / "tmp"  # half-received uploads; emptied at start-up
        self.datasets = DatasetStore(db)
        self.layouts = DatasetLayoutStore(db)
        self.comments = CommentStore(db)
        self.activity = ActivityStore(db)
        self.webhooks = WebhookStore(db)
        self.tasks = TaskStore(db)
        self.digests = DigestStore(db)
        self.pages = PageStore(db)
        self.cluster = ClusterStore(db)
        self.bookings = BookingStore(db)
        self.models = ModelStore(db)
        self.reviews = ReviewStore(db)
        self.artifacts = ArtifactStore(db)
        self.logged_models = LoggedModelStore(db)
        self.share_links = ShareLinkStore(db)
        self.leases = LeaseStore(db)
        self.secrets = SecretStore(db)
        self.failures = FailureStore(db)
        self.trash = TrashStore(db)
        self.holds = HoldStore(db)
        self.privacy = PrivacyStore(db)
        self.erasures = ErasureStore(db)
        self.retention = RetentionStore(db)

    def scratch_file(self, suffix: str = "") -> Path:
        """A new name in the scratch folder (made if needed) for a file on its way into the
        store; the caller deletes it."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / f"{new_id()}{suffix}"

    def referenced_objects_sync(self) -> set[str]:
        """Every object a dataset version or an artifact refers to (in the trash or not)."""
        return self.datasets.referenced_objects_sync() | self.artifacts.referenced_objects_sync()

    @property
    def shared(self) -> bool:
        """Whether other hubs may use the same database (PostgreSQL)."""
        return self.db.backend.shared

    async def catch_up(self) -> int:
        """Tell this hub's listeners what other hubs sharing the database committed since the
        last call; how many changes (see ``commits``)."""
        return await asyncio.to_thread(self.db.catch_up)

    async def compact_points(self, before: datetime) -> None:
        """Merge the small Parquet files of a shared database's metric points (each ingest
        writes one) and delete the files merged before ``before``."""
        await asyncio.to_thread(self.db.compact_points, before)

    async def forget_commits(self, before: datetime) -> None:
        """Prune the shared database's commit log of what every hub has followed."""
        await self.db.write(commits.prune, before)

    def fill_from(
        self, source: Path, progress: Callable[[str, int], None] = lambda table, rows: None
    ) -> list[tuple[str, int]]:
        """Copy every table of the DuckDB file ``source`` (its hub stopped) into this store,
        which must be empty and at the same migration: one transaction, so a copy that fails
        leaves nothing behind. Returns (table, rows) in the order copied."""
        self.db.read_sync(transfer.check, source)
        self.db.read_sync(transfer.attach, source)
        try:
            copied = self.db.write_sync(transfer.fill, progress, self.db.copy_points)
        finally:
            self.db.read_sync(transfer.detach)
        self.db.reload_head()
        return copied

    def describe(self) -> str:
        """Where the tables are, for people: the DuckDB file, or the database URL without its
        password."""
        return self.db.backend.describe()

    async def copy_database(self, target: Path) -> int:
        """A consistent copy of the database into a new file at ``target`` while the hub
        serves (one snapshot of every table; a shared database's metric points from its
        DuckLake in the same transaction); returns the schema migration it is at."""

        if self.shared:  # the file gets Salon's schema, then every table's rows
            made = Database(Embedded(target))
            try:
                await asyncio.to_thread(made.apply_schema)
            finally:
                made.close()

        def copy(cur: Cursor) -> int:
            name = cur.execute("SELECT current_database()").fetchone()
            assert name is not None
            cur.execute(f"ATTACH '{_literal(target)}' AS salon_backup")
            try:
                if self.shared:
                    with committed(cur):
                        transfer.export(cur, "salon_backup")
                else:
                    cur.execute(f'COPY FROM DATABASE "{name[0]}" TO salon_backup')
            finally:
                cur.execute("DETACH salon_backup")
            row = cur.execute("SELECT max(version) FROM schema_migrations").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        return await self.db.read(copy)

    async def ping(self) -> int:
        """One small read of a table, raising unless the database answers: the newest schema
        migration applied to it (another hub may have applied one this Salon does not know)."""
        row = await self.db.read(
            lambda cur: cur.execute("SELECT max(version) FROM schema_migrations").fetchone()
        )
        return int(row[0]) if row and row[0] is not None else 0

    @property
    def schema_version(self) -> int:
        """The newest migration this Salon knows."""
        return max(m.version for m in migrations.known()[0])

    def close(self) -> None:
        self.db.close()


def points_location(object_store: str, data_dir: Path) -> str:
    """Where hubs sharing a database keep metric points (a DuckLake's Parquet files): under
    the object store, beside the objects."""
    if object_store.startswith("s3://"):
        return f"{object_store.rstrip('/')}/points"
    return str((Path(object_store) if object_store else data_dir / "objects") / "points")


def objects_for(object_store: str, data_dir: Path, s3: S3 | None) -> ObjectStore:
    """The object store ``SALON_OBJECT_STORE`` names: an S3 prefix, a folder, or (empty) the
    data folder's ``objects``."""
    if object_store.startswith("s3://"):
        if s3 is None:
            raise ValueError("an S3 object store needs S3 access")
        return BucketObjects(s3, object_store)
    return FolderObjects(Path(object_store) if object_store else data_dir / "objects")


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def open_store(
    where: Path | Backend,
    *,
    data_dir: Path | None = None,
    memory_limit: str = "768MB",
    threads: int = 2,
    s3: S3Access | None = None,
    auto_migrate: bool = True,
    object_store: str = "",
) -> Store:
    """Open (creating if needed) the DuckDB file at ``where``, or the backend it names, and
    bring it to this Salon's schema (``auto_migrate`` false: refuse when migrations are
    pending). Local files (objects, uploads) go to ``data_dir``, by default the file's folder."""
    backend = Embedded(where) if isinstance(where, Path) else where
    if data_dir is None:
        if not isinstance(backend, Embedded):
            raise ValueError("a shared database needs the data folder for local files")
        data_dir = backend.path.parent
    if isinstance(backend, Shared) and backend.points is None:
        points = points_location(object_store, data_dir)
        backend = Shared(backend.url, backend.connections, points)
    db = Database(backend, memory_limit=memory_limit, threads=threads, s3=s3)
    try:
        db.apply_schema(auto_migrate=auto_migrate)
    except BaseException:
        db.close()
        raise
    return Store(db, s3, data_dir, object_store)


def store_for(settings: Settings) -> Store:
    """The store ``settings`` describe: its database, DuckDB's limits and S3 access; a named
    object store must take a file, else StoreUnavailable says which setting to check."""
    store = open_store(
        backend_for(
            settings.database_url.get_secret_value(),
            settings.data_dir,
            settings.database_connections,
        ),
        data_dir=settings.data_dir,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
        s3=s3_access(settings),
        auto_migrate=settings.auto_migrate,
        object_store=settings.object_store,
    )
    if settings.object_store:
        try:
            store.objects.probe()
        except (OSError, RemoteError) as exc:
            store.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreUnavailable(
                f"Cannot store files in SALON_OBJECT_STORE ({store.objects.describe()}): "
                f"{reason}. Check the folder, or the bucket and the SALON_S3_* settings."
            ) from None
    return store


def s3_access(settings: Settings) -> S3Access | None:
    """S3 access when ``SALON_DATASET_ROOTS`` or ``SALON_OBJECT_STORE`` names an S3 prefix
    (else DuckDB skips httpfs)."""
    places = [*settings.dataset_roots.split(","), settings.object_store]
    if not any(place.strip().startswith("s3://") for place in places):
        return None
    return S3Access(
        settings.s3_endpoint,
        settings.s3_region,
        settings.s3_access_key_id,
        settings.s3_secret_access_key.get_secret_value(),
        settings.s3_url_style,
    )


__all__ = ["Database", "Store", "open_store", "store_for"]
