"""What the audit trail records, and the signed checkpoints that guard its tail.

Every change passes its events to the store, which appends them to the hash chain in the
change's own transaction. A read records its event after the query and before the data leaves
the hub: if the event cannot be written, the caller gets an error, never unaudited data.
Denials and failed attempts are recorded as such. Events name people by their user id (a
pseudonym), never carry the data itself, and never secrets.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from hub.clock import now
from hub.errors import Forbidden, InvalidInput, LimitExceeded, SalonError
from hub.services.principal import Principal
from hub.store import Store
from hub.store.audit import AuditQuery
from hub.store.records import AuditDraft, AuditEvent, ChainReport

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


async def change(store: Store, events: Sequence[AuditDraft], work: Awaitable[T]) -> T:
    """Await a store write that carries ``events``; when it fails with an expected error (its
    transaction, events included, rolled back) record the attempt as an error."""
    try:
        return await work
    except SalonError:
        await store.audit.record([dataclasses.replace(e, outcome="error") for e in events])
        raise


# Reading the trail (admins and compliance officers) -----------------------------------------

MAX_AUDIT_PAGE = 500


async def _require_reader(store: Store, principal: Principal, action: str) -> None:
    """Admins and compliance officers, not through a token narrowed to projects."""
    if (principal.is_admin or principal.is_compliance) and principal.scope_projects is None:
        return
    await deny(store, principal, action, "audit")
    raise Forbidden("Only admins and compliance officers may read the audit trail.")


async def search_events(
    store: Store, principal: Principal, query: AuditQuery, first: int, before: int | None
) -> list[AuditEvent]:
    """A page of events, newest first. Reading the trail is itself recorded."""
    await _require_reader(store, principal, "audit.read")
    if not 1 <= first <= MAX_AUDIT_PAGE:
        raise LimitExceeded(f"Ask for 1 to {MAX_AUDIT_PAGE} events per page.", field="first")
    found = await store.audit.search(query, first, before)
    await read(store, principal, "audit.read", "audit", None, query.project_id, len(found))
    return found


async def export_events(
    store: Store, principal: Principal, query: AuditQuery
) -> AsyncIterator[pa.RecordBatch]:
    """Every matching event, oldest first, for CSV or Parquet export."""
    await _require_reader(store, principal, "audit.export")
    await read(store, principal, "audit.export", "audit", None, query.project_id, 0)
    return store.audit.export(query)


# Signed checkpoints of the chain head, kept outside the database file -----------------------

CHECKPOINT_FILE = "audit-checkpoint.jws"


def write_checkpoint(store: Store, folder: Path, sign: Callable[[bytes], str]) -> tuple[int, str]:
    """Sign the current head and replace the checkpoint file with it (atomically)."""
    seq, digest = store.audit.head
    payload = json.dumps({"seq": seq, "hash": digest, "at": now().isoformat()}).encode()
    target = folder / CHECKPOINT_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(sign(payload) + "\n")
    temporary.chmod(0o600)
    os.replace(temporary, target)
    return seq, digest


def read_checkpoint(folder: Path, verify: Callable[[str], bytes]) -> tuple[int, str] | None:
    """The signed head, or None when there is no checkpoint yet. A checkpoint whose signature
    does not verify raises InvalidInput: someone wrote it without the hub's key."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        item = json.loads(verify(path.read_text().strip()))
    except Exception:
        raise InvalidInput(f"The checkpoint {path} is not signed by this hub's keys.") from None
    return int(item["seq"]), str(item["hash"])


async def verify_chain(
    store: Store, principal: Principal, folder: Path, verify: Callable[[str], bytes]
) -> tuple[ChainReport, bool]:
    """Recompute the chain against the signed checkpoint; returns the report and whether a
    checkpoint was there to compare with."""
    await _require_reader(store, principal, "audit.verify")
    checkpoint = read_checkpoint(folder, verify)
    report = await store.audit.verify([checkpoint] if checkpoint else [])
    await read(store, principal, "audit.verify", "audit", None, None, report.checked)
    return report, checkpoint is not None
