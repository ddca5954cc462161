"""Deleting stored objects without racing a backup.

A backup copies the database as of one moment, then the objects folder: an object deleted in
between (a purge, an erasure, a rewritten upload's old file, ``salon gc``'s sweep) would be
named by the copy and missing from it, or make the copy fail. So a backup holds deletions from
before its snapshot until its files are copied. A deletion asked for meanwhile is put off, not
waited for (a person purging the trash during a long backup gets an answer at once): the last
holder to let go does what was put off (a sweep asks then which objects are referenced). A
backup waits for deletions already under way to end before taking its snapshot. What is put off
when the hub stops is an object nothing refers to, which the hub's start-up sweep removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable

from hub.store.objects import ObjectStore
from hub.store.remote import RemoteError

log = logging.getLogger("salon.objects")

POLL_SECONDS = 0.025  # how often a backup looks whether the deletions under way have ended


class ObjectDeletions:
    """Deletions of ``objects``, put off while a backup copies them."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._lock = threading.Lock()
        self._holds = 0
        self._deleting = 0
        self._put_off: list[Callable[[], int]] = []

    async def remove(self, digests: list[str], older_than: float) -> int | None:
        """``ObjectStore.remove`` now, or once no backup holds deletions (the holder deletes
        them as it lets go); returns how many objects were deleted, None when put off."""
        return await self._now_or_later(functools.partial(self.objects.remove, digests, older_than))

    async def sweep(self, referenced: Callable[[], set[str]], older_than: float) -> int | None:
        """``ObjectStore.sweep`` of the objects ``referenced()`` does not name, asked just
        before deleting (a sweep put off asks again then: what was uploaded meanwhile is
        named); returns how many objects were deleted, None when put off."""
        return await self._now_or_later(lambda: self.objects.sweep(referenced(), older_than))

    async def _now_or_later(self, deletion: Callable[[], int]) -> int | None:
        with self._lock:
            if self._holds:
                self._put_off.append(deletion)
                return None
            self._deleting += 1
        try:
            return await asyncio.to_thread(deletion)
        finally:
            with self._lock:
                self._deleting -= 1

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """No object is deleted inside: deletions under way are let finish first, those asked
        for meanwhile are done once the last holder leaves."""
        with self._lock:
            self._holds += 1
        try:
            while self.deleting:
                await asyncio.sleep(POLL_SECONDS)
            yield
        finally:
            with self._lock:
                self._holds -= 1
                due = [] if self._holds else self._put_off
                if due:
                    self._put_off = []
            for deletion in due:
                await self._put_off_done(deletion)

    async def _put_off_done(self, deletion: Callable[[], int]) -> None:
        try:
            await self._now_or_later(deletion)
        except (OSError, RemoteError) as exc:  # the start-up sweep removes them later
            log.warning("A deletion put off during a backup failed: %s", exc)

    @property
    def deleting(self) -> bool:
        with self._lock:
            return self._deleting > 0

    @property
    def holding(self) -> bool:
        with self._lock:
            return self._holds > 0

    @property
    def put_off(self) -> int:
        """How many deletions wait for a backup to end."""
        with self._lock:
            return len(self._put_off)
