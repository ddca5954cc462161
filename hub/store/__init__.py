"""The storage layer: the only code that imports duckdb or holds SQL.

``Store`` bundles one object per concept over one :class:`Database`. Every method returns frozen
records of ``hub/domain`` and runs on a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from hub.settings import Settings
from hub.store.access import AccessStore
from hub.store.activity import ActivityStore, DigestStore
from hub.store.artifacts import ArtifactStore
from hub.store.audit import AuditStore
from hub.store.bookings import BookingStore
from hub.store.cluster import ClusterStore
from hub.store.comments import CommentStore
from hub.store.database import Cursor, Database
from hub.store.datasets import DatasetStore
from hub.store.logged_models import LoggedModelStore
from hub.store.metrics import MetricStore
from hub.store.models import ModelStore
from hub.store.oauth import OAuthStore
from hub.store.objects import ObjectStore
from hub.store.pages import PageStore
from hub.store.projects import ProjectStore
from hub.store.remote import S3, S3Access
from hub.store.reviews import ReviewStore
from hub.store.runs import RunStore
from hub.store.share_links import ShareLinkStore
from hub.store.tasks import TaskStore
from hub.store.tokens import TokenStore
from hub.store.users import UserStore
from hub.store.webhooks import WebhookStore


class Store:
    """Every store of Salon over one database file."""

    def __init__(self, db: Database, s3: S3Access | None = None) -> None:
        self.db = db
        self.s3 = S3(s3) if s3 else None  # set when SALON_DATASET_ROOTS names S3 prefixes
        self.projects = ProjectStore(db)
        self.runs = RunStore(db)
        self.metrics = MetricStore(db)
        self.tokens = TokenStore(db)
        self.users = UserStore(db)
        self.access = AccessStore(db)
        self.audit = AuditStore(db)
        self.oauth = OAuthStore(db)
        self.objects = ObjectStore(db.path.parent / "objects")
        self.scratch = db.path.parent / "tmp"  # half-received uploads; emptied at start-up
        self.datasets = DatasetStore(db, self.objects.root)
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

    async def copy_database(self, target: Path) -> int:
        """A consistent copy of the database into a new file at ``target`` while the hub
        serves (one snapshot of every table); returns the schema migration it is at."""

        def copy(cur: Cursor) -> int:
            name = cur.execute("SELECT current_database()").fetchone()
            assert name is not None
            cur.execute(f"ATTACH '{_literal(target)}' AS salon_backup")
            try:
                cur.execute(f'COPY FROM DATABASE "{name[0]}" TO salon_backup')
            finally:
                cur.execute("DETACH salon_backup")
            row = cur.execute("SELECT max(version) FROM schema_migrations").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        return await self.db.read(copy)

    async def ping(self) -> None:
        """One trivial read: raises unless the database answers."""
        await self.db.read(lambda cur: cur.execute("SELECT 1").fetchone())

    def close(self) -> None:
        self.db.close()


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def open_store(
    path: Path,
    *,
    memory_limit: str = "768MB",
    threads: int = 2,
    s3: S3Access | None = None,
    auto_migrate: bool = True,
) -> Store:
    """Open (creating if needed) the DuckDB file at ``path`` and bring it to this Salon's
    schema (``auto_migrate`` false: refuse when migrations are pending)."""
    db = Database(path, memory_limit=memory_limit, threads=threads, s3=s3)
    try:
        db.apply_schema(auto_migrate=auto_migrate)
    except BaseException:
        db.close()
        raise
    return Store(db, s3)


def store_for(settings: Settings) -> Store:
    """The store ``settings`` describe: its file, DuckDB's limits and S3 access."""
    return open_store(
        settings.database_path,
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
        s3=s3_access(settings),
        auto_migrate=settings.auto_migrate,
    )


def s3_access(settings: Settings) -> S3Access | None:
    """S3 access when ``SALON_DATASET_ROOTS`` names an S3 prefix (else DuckDB skips httpfs)."""
    if not any(root.strip().startswith("s3://") for root in settings.dataset_roots.split(",")):
        return None
    return S3Access(
        settings.s3_endpoint,
        settings.s3_region,
        settings.s3_access_key_id,
        settings.s3_secret_access_key.get_secret_value(),
        settings.s3_url_style,
    )


__all__ = ["Database", "Store", "open_store", "store_for"]
