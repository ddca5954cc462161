"""Deleting stored objects without racing a backup.

A backup copies the database as of one moment, then the objects folder: an object deleted in
between (a purge, an erasure, a rewritten upload's old file) would be named by the copy and
missing from it, or make the copy fail. So a backup holds deletions from before its snapshot
until its files are copied; a deletion asked for meanwhile waits (polling, so that it holds no
thread and works from any of the hub's event loops), and a backup waits for deletions already
under way to end before taking its snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from hub.store.objects import ObjectStore

POLL_SECONDS = 0.25


class ObjectDeletions:
    """Deletions of ``objects``, held while a backup copies them."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._lock = threading.Lock()
        self._holds = 0
        self._deleting = 0

    async def remove(self, digests: list[str], older_than: float) -> int:
        """``ObjectStore.remove``, once no backup holds deletions; returns how many objects
        were deleted."""
        while not self._start():
            await asyncio.sleep(POLL_SECONDS)
        try:
            return await asyncio.to_thread(self.objects.remove, digests, older_than)
        finally:
            with self._lock:
                self._deleting -= 1

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No object is deleted inside: deletions under way are let finish first, those asked
        for meanwhile wait until the last holder leaves."""
        with self._lock:
            self._holds += 1
        try:
            while self.deleting:
                await asyncio.sleep(POLL_SECONDS / 10)
            yield
        finally:
            with self._lock:
                self._holds -= 1

    @property
    def deleting(self) -> bool:
        with self._lock:
            return self._deleting > 0

    @property
    def holding(self) -> bool:
        with self._lock:
            return self._holds > 0

    def _start(self) -> bool:
        with self._lock:
            if self._holds:
                return False
            self._deleting += 1
            return True
