"""A person's rights (admins and compliance officers): everything Salon holds about someone as
one archive, and their erasure. Erasing is refused while a legal hold covers the person, for
the last site admin, and for someone erased already; it is audited, and the audit trail still
verifies afterwards (see ``hub.store.privacy``)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from hub import __version__
from hub.clock import now
from hub.domain.audit import EventDraft
from hub.errors import Conflict, Forbidden
from hub.services.policy import audit, permissions
from hub.services.policy.principal import Principal
from hub.store import Store


async def _officer(store: Store, principal: Principal, action: str, user_id: str | None) -> None:
    if not permissions.can_read_audit(principal):
        await audit.deny(store, principal, action, "user", user_id)
        raise Forbidden("Only admins and compliance officers may export or erase a person's data.")


@dataclasses.dataclass(frozen=True, slots=True)
class Export:
    """Everything Salon holds about a person, as a ZIP archive: one JSON file per kind of data
    and ``manifest.json`` saying who, when and how many of each."""

    person: str
    file_name: str
    archive: bytes
    counts: dict[str, int]


async def export(store: Store, principal: Principal, name: str) -> Export:
    """The person's :class:`Export` (audited as a read of their data)."""
    await _officer(store, principal, "privacy.export", None)
    user_id, found_name, _, _ = await store.privacy.person(name.strip().lower())
    sections = await store.privacy.export(found_name)
    at = now()
    manifest: dict[str, Any] = {
        "person": found_name,
        "id": user_id,
        "exported_at": at.isoformat(),
        "exported_by": principal.user_name,
        "salon": __version__,
        "counts": {section: len(rows) for section, rows in sections.items()},
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("manifest.json", json.dumps(manifest, indent=2))
        for section, rows in sections.items():
            packed.writestr(f"{section}.json", json.dumps(rows, indent=2, ensure_ascii=False))
    total = sum(len(found) for found in sections.values())
    await audit.read(store, principal, "privacy.export", "user", user_id, None, total)
    name = f"salon-{found_name}-{at:%Y%m%d}.zip"
    return Export(found_name, name, archive.getvalue(), manifest["counts"])


async def erase(
    store: Store, principal: Principal, name: str
) -> tuple[str, dict[str, int], datetime]:
    """Erase the person: (their pseudonym, rows changed per table, when)."""
    await _officer(store, principal, "privacy.erase", None)  # before saying who exists
    user_id, found_name, _, _ = await store.privacy.person(name.strip().lower())
    if user_id == principal.user_id:
        raise Conflict("You cannot erase yourself; ask another admin.", field="user")
    hold = await store.holds.active_on("person", user_id)
    if hold is not None:
        await audit.deny(store, principal, "privacy.erase", "user", user_id)
        raise Conflict(f"Erasing {found_name} is refused: a {hold.describe()} covers them.")
    at = now()
    events: list[EventDraft] = [audit.event(principal, "privacy.erase", "user", user_id)]
    _, pseudonym, changed = await audit.change(
        store, events, store.privacy.erase(found_name, at, audit=events)
    )
    return pseudonym, changed, at
