"""The trash from the dashboard, as the signed-in person: list, move, restore, purge."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.hub_client import _change, _post, _token, hub_url


def entries(project: str | None = None) -> list[dict[str, Any]]:
    """What is in the trash of the person's projects (or of one), newest first."""
    found: list[dict[str, Any]] = _post(hub_url(), _token(), "Trash", {"project": project})["trash"]
    return found


def entry_of(kind: str, object_id: str) -> dict[str, Any] | None:
    """The trash entry of that very object (a run moved on its own, not with its experiment),
    if the person may see it; None otherwise."""
    return next((e for e in entries() if e["kind"] == kind and e["objectId"] == object_id), None)


def _changed(operation: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    done = _change(operation, field, variables)
    st.cache_data.clear()  # lists read before the change must not show it
    return done


def move(kind: str, object_id: str) -> dict[str, Any]:
    """``kind``: one of GraphQL's TrashKind (RUN, EXPERIMENT, PROJECT, DATASET, ...)."""
    return _changed("MoveToTrash", "moveToTrash", {"kind": kind, "id": object_id})


def restore(entry_id: str) -> dict[str, Any]:
    return _changed("RestoreFromTrash", "restoreFromTrash", {"id": entry_id})


def purge(entry_id: str) -> dict[str, Any]:
    return _changed("PurgeFromTrash", "purgeFromTrash", {"id": entry_id})


def retention_policy(project: str) -> dict[str, Any] | None:
    """The project's retention policy with what it removes next; None: it keeps everything."""
    found: dict[str, Any] | None = _post(
        hub_url(), _token(), "RetentionPolicy", {"project": project}
    )["retentionPolicy"]
    return found


def set_retention_policy(
    project: str,
    runs_days: int | None,
    versions_kept: int | None,
    keep_tag: str,
    audit_years: int | None,
) -> dict[str, Any]:
    variables = {
        "project": project,
        "runsDays": runs_days,
        "versionsKept": versions_kept,
        "keepTag": keep_tag,
        "auditYears": audit_years,
    }
    return _changed("SetRetentionPolicy", "setRetentionPolicy", variables)


def erasure_requests() -> list[dict[str, Any]]:
    """Every dataset's requests to erase a data subject's rows, newest first."""
    found: list[dict[str, Any]] = _post(hub_url(), _token(), "ErasureRequests", {})[
        "erasureRequests"
    ]
    return found


def legal_holds(released: bool) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _post(hub_url(), _token(), "LegalHolds", {"all": released})[
        "legalHolds"
    ]
    return found


def place_hold(kind: str, name: str, reason: str, project: str | None) -> dict[str, Any]:
    variables = {"kind": kind, "name": name, "reason": reason, "project": project}
    return _changed("PlaceLegalHold", "placeLegalHold", variables)


def release_hold(hold_id: str) -> dict[str, Any]:
    return _changed("ReleaseLegalHold", "releaseLegalHold", {"id": hold_id})
