"""The demo team (projects, runs with curves, people who sign in with DEMO_PASSWORD) in a new
data folder. Loading it takes about 3 s; it is loaded once per test session into a folder of
its own, and each hub that wants it gets a copy of that folder (about 0.06 s)."""

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
from hub.store import store_for

DEMO_PASSWORD = "demo-password-2026"  # every demo person's password in tests


def with_demo_team(data_dir: Path) -> None:
    """Put the demo team's store in ``data_dir`` (with no store yet), before a hub opens it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    assert not (data_dir / "salon.duckdb").exists(), f"{data_dir} already holds a store"
    shutil.copytree(_loaded(), data_dir, dirs_exist_ok=True)


@functools.cache
def _loaded() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="salon-demo-team-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
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
