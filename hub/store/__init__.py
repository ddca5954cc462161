"""The storage layer: the only code that imports duckdb or holds SQL.

``Store`` bundles one object per concept over one :class:`Database`. Every method returns frozen
records from ``records.py`` and runs on a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from hub.store.access import AccessStore
from hub.store.audit import AuditStore
from hub.store.database import Database
from hub.store.datasets import DatasetStore
from hub.store.metrics import MetricStore
from hub.store.oauth import OAuthStore
from hub.store.objects import ObjectStore
from hub.store.projects import ProjectStore
from hub.store.runs import RunStore
from hub.store.tokens import TokenStore
from hub.store.users import UserStore


class Store:
    """Every store of Salon over one database file."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.projects = ProjectStore(db)
        self.runs = RunStore(db)
        self.metrics = MetricStore(db)
        self.tokens = TokenStore(db)
        self.users = UserStore(db)
        self.access = AccessStore(db)
        self.audit = AuditStore(db)
        self.oauth = OAuthStore(db)
        self.objects = ObjectStore(db.path.parent / "objects")
        self.datasets = DatasetStore(db, self.objects.root)

    def close(self) -> None:
        self.db.close()


def open_store(path: Path, *, memory_limit: str = "768MB", threads: int = 2) -> Store:
    """Open (creating if needed) the DuckDB file at ``path`` and apply the schema."""
    db = Database(path, memory_limit=memory_limit, threads=threads)
    db.apply_schema()
    return Store(db)


__all__ = ["Database", "Store", "open_store"]
