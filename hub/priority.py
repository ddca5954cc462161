"""Changes first: a change (a GraphQL mutation, a batch of runs, an MLflow call that changes
something) is not held up by a busy hub's readers.

A change makes a few reads before its transaction (the object it changes, who may change it,
whom to tell), then the transaction, each a trip to the store's threads and back. On a hub
serving 50 readers, each of those trips waited twice in the readers' lines: for a thread of
the store's one pool (a comment's five rounds of reads waited 73-93 ms there, more than they
took), and, once answered, for the event loop, busy with the readers' GraphQL (8-17 ms a trip).
So a change runs on an event loop of its own (``first``), one thread that only changes use, and
its reads take a lane of their own in the store (``changing``). See ``bench/RESULTS.md``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_CHANGING: ContextVar[bool] = ContextVar("salon_changing", default=False)
_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def for_a_change() -> None:
    """Mark the request under way (its task and the tasks it starts) as a change."""
    _CHANGING.set(True)


def changing() -> bool:
    """Whether the request under way is a change."""
    return _CHANGING.get()


async def first(work: Awaitable[T]) -> T:
    """Await ``work``, a change (a coroutine not yet started), on the changes' event loop, and
    return what it returns. The request's context (its id, its operation's name, this mark)
    goes with it; cancelling the caller (the client went away) cancels it."""
    for_a_change()
    done = asyncio.run_coroutine_threadsafe(_awaited(work), _changes_loop())
    return await asyncio.wrap_future(done)


async def _awaited(work: Awaitable[T]) -> T:
    return await work


def _forget_loop() -> None:
    """In a child forked from a hub, whose copy of the changes' loop has no thread to run it."""
    global _loop, _loop_lock
    _loop, _loop_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop)


def _changes_loop() -> asyncio.AbstractEventLoop:
    """The process's event loop for changes, started on first use on a thread of its own."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            thread = threading.Thread(target=_loop.run_forever, name="salon-changes", daemon=True)
            thread.start()
        return _loop
