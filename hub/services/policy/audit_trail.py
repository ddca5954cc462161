"""Reading the audit trail (admins and compliance officers) and the signed checkpoints of its
head, kept apart from the audit table. Reading the trail is itself audited."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable

import pyarrow as pa

from hub.clock import now
from hub.domain.audit import AuditEvent, AuditQuery, ChainReport
from hub.domain.tracking import ProjectRecord
from hub.errors import Forbidden, InvalidInput, LimitExceeded
from hub.services.policy import audit, names, permissions
from hub.services.policy.keep import Keep
from hub.services.policy.principal import Principal
from hub.store import Store

MAX_AUDIT_PAGE = 500


async def _require_reader(store: Store, principal: Principal, action: str) -> None:
    if permissions.can_read_audit(principal):
        return
    await audit.deny(store, principal, action, "audit")
    raise Forbidden("Only admins and compliance officers may read the audit trail.")


@dataclasses.dataclass(frozen=True, slots=True)
class AuditPage:
    """Events, newest first, with what their ids are called now."""

    events: list[AuditEvent]
    names: dict[str, str]  # project, object or person id -> name or title


async def search_events(
    store: Store, principal: Principal, query: AuditQuery, first: int, before: int | None
) -> AuditPage:
    """A page of events, newest first. Reading the trail is itself recorded."""
    await _require_reader(store, principal, "audit.read")
    if not 1 <= first <= MAX_AUDIT_PAGE:
        raise LimitExceeded(f"Ask for 1 to {MAX_AUDIT_PAGE} events per page.", field="first")
    found = await store.audit.search(query, first, before)
    await audit.read(store, principal, "audit.read", "audit", None, query.project_id, len(found))
    return AuditPage(found, await _names(store, found))


async def _names(store: Store, events: list[AuditEvent]) -> dict[str, str]:
    """What the events' projects, objects and people are called now. The chained trail keeps
    only ids (so that a person can be erased without breaking it): a name is today's, and
    what is gone (or erased) keeps its id."""

    def ids(*kinds: str) -> list[str]:
        return sorted({e.object_id for e in events if e.object_kind in kinds and e.object_id})

    people, projects = await names.people_and_projects(
        store,
        {e.actor_id for e in events} | set(ids("user")),
        {e.project_id for e in events if e.project_id} | set(ids("project")),
    )
    found = people | projects
    found |= {i: r.name for i, r in (await store.runs.by_ids(ids("run"))).items()}
    found |= {i: d.name for i, d in (await store.datasets.by_ids(ids("dataset"))).items()}
    models = await store.models.by_ids(ids("model"))
    versions = await store.models.versions_by_ids(ids("model_version"))
    models |= await store.models.by_ids(sorted({v.model_id for v in versions.values()}))
    found |= {i: m.name for i, m in models.items()}
    found |= {
        i: f"{models[v.model_id].name} version {v.number}"
        for i, v in versions.items()
        if v.model_id in models
    }
    return found


async def audited_projects(store: Store, principal: Principal) -> list[ProjectRecord]:
    """Every project, for narrowing the trail (its readers may hold no role in any)."""
    await _require_reader(store, principal, "audit.read")
    return sorted(await store.projects.all(), key=lambda p: p.name)


async def export_events(
    store: Store, principal: Principal, query: AuditQuery
) -> AsyncIterator[pa.RecordBatch]:
    """Every matching event, oldest first, for CSV or Parquet export."""
    await _require_reader(store, principal, "audit.export")
    await audit.read(store, principal, "audit.export", "audit", None, query.project_id, 0)
    return store.audit.export(query)


# Signed checkpoints of the chain head, kept apart from the audit table ----------------------

CHECKPOINT = "audit-checkpoint.jws"  # in the hub's keep: its data folder, or the shared database


def write_checkpoint(store: Store, keep: Keep, sign: Callable[[bytes], str]) -> tuple[int, str]:
    """Sign the current head and replace the kept checkpoint with it (whole)."""
    seq, digest = store.audit.head
    payload = json.dumps({"seq": seq, "hash": digest, "at": now().isoformat()}).encode()
    keep.put(CHECKPOINT, sign(payload))
    return seq, digest


def read_checkpoint(keep: Keep, verify: Callable[[str], bytes]) -> tuple[int, str] | None:
    """The signed head, or None when there is no checkpoint yet. A checkpoint whose signature
    does not verify raises InvalidInput: someone wrote it without the hub's key."""
    signed = keep.get(CHECKPOINT)
    if signed is None:
        return None
    try:
        item = json.loads(verify(signed))
    except Exception:
        raise InvalidInput(
            f"The audit checkpoint ({CHECKPOINT}) is not signed by this hub's keys."
        ) from None
    return int(item["seq"]), str(item["hash"])


async def verify_chain(
    store: Store, principal: Principal, keep: Keep, verify: Callable[[str], bytes]
) -> tuple[ChainReport, bool]:
    """Recompute the chain against the signed checkpoint; returns the report and whether a
    checkpoint was there to compare with."""
    await _require_reader(store, principal, "audit.verify")
    checkpoint = read_checkpoint(keep, verify)
    report = await store.audit.verify([checkpoint] if checkpoint else [])
    await audit.read(store, principal, "audit.verify", "audit", None, None, report.checked)
    return report, checkpoint is not None
