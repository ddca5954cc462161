"""Legal holds, placed and released by admins and compliance officers on a project, a dataset
or a person. While one holds, purging what it covers (from the trash, by retention or by an
erasure) is refused with a message naming it; moving things to the trash stays possible."""

from __future__ import annotations

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.lifecycle import HOLD_KINDS, LegalHold
from hub.errors import Forbidden, InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.services.policy import audit, permissions
from hub.services.policy.principal import Principal
from hub.store import Store

MAX_REASON = 500


async def _officer(store: Store, principal: Principal, action: str) -> None:
    if not permissions.can_read_audit(principal):
        await audit.deny(store, principal, action, "legal_hold")
        raise Forbidden("Only admins and compliance officers may place or release legal holds.")


async def _subject(
    store: Store, kind: str, name: str, project: str | None
) -> tuple[str, str, str | None]:
    """(id, label, project id) of what a hold is to cover; InvalidInput when there is no such
    thing (what is in the trash counts: a hold is most wanted there)."""
    if kind == "person":
        person = await store.users.by_name(name.strip().lower())
        if person is None:
            raise InvalidInput(f"There is nobody called {name!r}.", field="name")
        return person.id, person.name, None
    found = await store.projects.by_name(
        project if kind == "dataset" and project else name, trashed=True
    )
    if kind == "project":
        if found is None:
            raise InvalidInput(f"There is no project called {name!r}.", field="name")
        return found.id, found.name, found.id
    if not project or found is None:
        raise InvalidInput(
            "Name the dataset's project (and that project must exist).", field="project"
        )
    dataset = await store.datasets.by_name(found.id, name, trashed=True)
    if dataset is None:
        raise InvalidInput(f"Project {project} has no dataset called {name!r}.", field="name")
    return dataset.id, f"{project}/{dataset.name}", found.id


async def place(
    store: Store,
    principal: Principal,
    kind: str,
    name: str,
    reason: str,
    project: str | None = None,
) -> LegalHold:
    """Hold a project (``name``), a dataset (``name`` in ``project``) or a person (their
    account's name) for ``reason``; Conflict when an active hold covers it already."""
    await _officer(store, principal, "hold.place")
    if kind not in HOLD_KINDS:
        raise InvalidInput(f"A legal hold covers one of {', '.join(HOLD_KINDS)}.", field="kind")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say what the hold is for (a matter, a request).", field="reason")
    if len(reason) > MAX_REASON:
        raise LimitExceeded(f"The reason is limited to {MAX_REASON} characters.", field="reason")
    object_id, label, project_id = await _subject(store, kind, name, project)
    hold = LegalHold(new_id(), kind, object_id, label, reason, principal.user_name, now())
    events: list[EventDraft] = [audit.event(principal, "hold.place", kind, object_id, project_id)]
    return await audit.change(store, events, store.holds.place(hold, audit=events))


async def release(store: Store, principal: Principal, hold_id: str) -> LegalHold:
    await _officer(store, principal, "hold.release")
    events: list[EventDraft] = [audit.event(principal, "hold.release", "legal_hold", hold_id)]
    work = store.holds.release(hold_id, principal.user_name, now(), audit=events)
    return await audit.change(store, events, work)


async def listed(store: Store, principal: Principal, released: bool = False) -> list[LegalHold]:
    """Active holds, newest first (with ``released``, released ones too)."""
    await _officer(store, principal, "hold.read")
    holds = await store.holds.listed(released)
    await audit.read(store, principal, "hold.read", "legal_hold", None, None, len(holds))
    return holds
