"""``hub.priority.first``: a change runs on the changes' own event loop, with the context of
the request that sent it, and what it returns, raises or is told (cancelled) crosses over."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import threading
from contextvars import ContextVar

import pytest

from hub.errors import InvalidInput
from hub.priority import changing, first

REQUEST: ContextVar[str] = ContextVar("request", default="none")


def test_a_change_runs_on_the_changes_loop_with_its_request_s_context() -> None:
    seen: dict[str, object] = {}

    async def change() -> str:
        seen["thread"] = threading.current_thread().name
        seen["request"] = REQUEST.get()
        seen["changing"] = changing()
        await asyncio.sleep(0)  # awaits on its own loop
        return "stored"

    async def request() -> tuple[str, str, bool]:
        REQUEST.set("req-7")
        answer = await first(change())
        return answer, threading.current_thread().name, changing()

    answer, caller, caller_changing = asyncio.run(request())
    assert answer == "stored"
    assert seen == {"thread": "salon-changes", "request": "req-7", "changing": True}
    assert caller != "salon-changes" and caller_changing  # the request is marked too


def test_what_a_change_raises_reaches_its_request() -> None:
    async def change() -> None:
        raise InvalidInput("No such run.", field="id")

    with pytest.raises(InvalidInput, match="No such run"):
        asyncio.run(first(change()))


def test_a_cancelled_request_cancels_its_change() -> None:
    started, ended = threading.Event(), threading.Event()

    async def change() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            ended.set()

    async def request() -> None:
        task = asyncio.ensure_future(first(change()))
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(request())
    assert ended.wait(10), "the change went on after its request was cancelled"


def test_a_process_forked_after_a_change_runs_its_own_changes() -> None:
    """A child forked from a process that ran a change has no thread behind the loop it copied;
    its changes run on a loop of its own."""

    async def change() -> int:
        return os.getpid()

    parent = asyncio.run(first(change()))
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report where its change ran, then leave at once
        ran_in = asyncio.run(first(change()))
        os.write(writer, str(ran_in).encode())
        os._exit(0)
    os.close(writer)
    answered, _, _ = select.select([reader], [], [], 30)
    if not answered:
        os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    assert answered, "the child's change never ran"
    answer = os.read(reader, 64).decode()
    assert parent == os.getpid()
    assert answer == str(child)
