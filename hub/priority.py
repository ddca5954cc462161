"""Changes first: the store's reads made for a change (a mutation, a batch of runs) take a lane
of their own instead of waiting in line behind a busy hub's readers.

A change makes a few reads before its transaction (the object it changes, who may change it,
whom to tell). On a hub serving 50 readers, each of those reads waited behind the readers'
own in the store's one pool of threads: a comment's five rounds of reads waited 73-93 ms in
that line, more than they took (``bench/RESULTS.md``). The edges say which requests are
changes (GraphQL mutations, batches of runs, the MLflow calls that change something); the
store's ``read`` looks here to choose the lane.
"""

from __future__ import annotations

from contextvars import ContextVar

_CHANGING: ContextVar[bool] = ContextVar("salon_changing", default=False)


def for_a_change() -> None:
    """Mark the request under way (its task and the tasks it starts) as a change."""
    _CHANGING.set(True)


def changing() -> bool:
    """Whether the request under way is a change."""
    return _CHANGING.get()
