"""Items made on a worker thread, handed to the event loop a few at a time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


async def from_thread(executor: Executor, items: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """The items of ``items()``, produced on a thread of ``executor`` a few at a time, so a
    large result never sits whole in memory. If the consumer stops early (a client went away),
    the producer stops within half a second and its iterator is closed."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=2)
    stop = threading.Event()

    async def offer(item: tuple[str, Any]) -> bool:
        """Queue ``item`` within half a second; whether it was queued. The answer comes from
        the loop itself: a put cut off by the timeout has queued nothing. (Waiting on the
        thread's side and cancelling there could not tell: a put that finished as the wait
        timed out was put again, and a reader got the same batch twice.)"""
        try:
            await asyncio.wait_for(queue.put(item), timeout=0.5)
        except TimeoutError:
            return False
        return True

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            if asyncio.run_coroutine_threadsafe(offer(item), loop).result():
                return True
        return False

    def produce() -> None:
        made = items()
        try:
            for item in made:
                if not put(("item", item)):
                    return
        except Exception as exc:
            put(("error", exc))
            return
        finally:
            close = getattr(made, "close", None)
            if close is not None:
                close()
        put(("end", None))

    producer = loop.run_in_executor(executor, produce)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                break
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        await producer
