"""Stores made once per test session and copied into each test's data folder: the demo team
(projects, runs with curves, people who sign in with DEMO_PASSWORD), which takes about 3 s to
load, and an empty store brought to this Salon's schema, which takes 0.1-0.3 s to migrate. A
copy takes a few milliseconds. (Tests of migrating a new file open one of their own.)"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import shutil
import tempfile
from pathlib import Path

from hub.demo import load_demo, load_people
from hub.services.policy.principal import SYSTEM
from hub.settings import Settings
from hub.store import open_store, store_for

DEMO_PASSWORD = "demo-password-2026"  # every demo person's password in tests
STORE = "salon.duckdb"


def with_demo_team(data_dir: Path) -> None:
    """Put the demo team's store in ``data_dir`` (with no store yet), before a hub opens it."""
    _copy(_loaded(), data_dir)


def with_empty_store(data_dir: Path) -> None:
    """Put an empty, migrated store in ``data_dir`` (with no store yet) before it is opened."""
    _copy(_migrated(), data_dir)


def with_store(data_dir: Path, *, demo: bool, database_url: str = "") -> None:
    """The demo team's store in ``data_dir`` when ``demo``; otherwise an empty one, unless the
    folder already holds a store or the hub's data is in a shared database."""
    if demo:
        with_demo_team(data_dir)
    elif not database_url and not (data_dir / STORE).exists():
        with_empty_store(data_dir)


def _copy(folder: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    assert not (data_dir / STORE).exists(), f"{data_dir} already holds a store"
    shutil.copytree(folder, data_dir, dirs_exist_ok=True)


def _folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def _migrated() -> Path:
    folder = _folder("salon-empty-store-")
    open_store(folder / STORE).close()
    return folder


@functools.cache
def _loaded() -> Path:
    folder = _folder("salon-demo-team-")
    store = store_for(Settings(data_dir=folder))

    async def load() -> None:
        await load_demo(store, SYSTEM)
        await load_people(store, SYSTEM, DEMO_PASSWORD)

    try:
        # on a thread of its own: a caller may already run an event loop (Playwright's does)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, load()).result()
    finally:
        store.close()
    return folder
