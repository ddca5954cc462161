"""What the audit trail records, and the signed checkpoints that guard its tail.

Every change passes its events to the store, which appends them to the hash chain in the
change's own transaction. A read records its event after the query and before the data leaves
the hub: if the event cannot be written, the caller gets an error, never unaudited data.
Denials and failed attempts are recorded as such. Events name people by their user id (a
pseudonym), never carry the data itself, and never secrets.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from hub.domain.audit import AuditDraft, EventDraft
from hub.errors import SalonError
from hub.services.policy.principal import Principal
from hub.store import Store

log = logging.getLogger("salon.audit")
T = TypeVar("T")


def event(
    principal: Principal | None,
    action: str,
    object_kind: str,
    object_id: str | None = None,
    project_id: str | None = None,
    *,
    outcome: str = "allow",
    rows: int | None = None,
) -> AuditDraft:
    """One event by ``principal`` (None: an anonymous caller)."""
    if principal is None:
        return AuditDraft(
            "anonymous",
            "none",
            None,
            None,
            action,
            object_kind,
            object_id,
            project_id,
            outcome,
            rows,
        )
    return AuditDraft(
        principal.user_id,
        principal.auth_method,
        principal.auth_id,
        principal.address,
        action,
        object_kind,
        object_id,
        project_id,
        outcome,
        rows,
    )


async def read(
    store: Store,
    principal: Principal,
    action: str,
    object_kind: str,
    object_id: str | None,
    project_id: str | None,
    rows: int,
) -> None:
    """Record a read that was allowed, before its data is released."""
    await store.audit.record(
        [event(principal, action, object_kind, object_id, project_id, rows=rows)]
    )


async def deny(
    store: Store,
    principal: Principal | None,
    action: str,
    object_kind: str,
    object_id: str | None = None,
    project_id: str | None = None,
) -> None:
    await store.audit.record(
        [event(principal, action, object_kind, object_id, project_id, outcome="deny")]
    )


async def change(store: Store, events: Sequence[EventDraft], work: Awaitable[T]) -> T:
    """Await a store write that carries ``events``; when it fails with an expected error (its
    transaction, events included, rolled back) record the attempt as an error."""
    try:
        return await work
    except SalonError:
        failed = [e for e in events if isinstance(e, AuditDraft)]
        await store.audit.record([dataclasses.replace(e, outcome="error") for e in failed])
        raise
