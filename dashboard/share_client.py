"""Share links from the dashboard: making, listing and revoking them (GraphQL, as the signed-in
person), and reading a shared view (``/api/share/view``, with the link's own secret)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.hub_client import HubError, _change, _post, _token, connection, hub_url
from hub.client.errors import HubError as ClientError
from hub.client.transport import HubUnreachable


def create(values: dict[str, Any]) -> dict[str, Any]:
    """A new link; its addresses are shown once."""
    made = _change("CreateShareLink", "createShareLink", {"input": values})
    st.cache_data.clear()
    return made


def of_project(project: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _post(hub_url(), _token(), "ShareLinks", {"project": project})[
        "shareLinks"
    ]
    return found


def revoke(link_id: str) -> None:
    _change("RevokeShareLink", "revokeShareLink", {"id": link_id})


@dataclass(frozen=True)
class Shared:
    """A shared view's data, or why it cannot be shown (``refusal`` is the hub's code)."""

    link: dict[str, Any] | None
    data: dict[str, Any] | None
    refusal: str | None = None
    message: str | None = None


def view(secret: str, viewer_token: str | None) -> Shared:
    """What a link shows now: the hub checks the link on every call."""
    try:
        response = connection(viewer_token or "").send(
            "GET", "/api/share/view", headers={"X-Salon-Link": secret}
        )
    except HubUnreachable:
        raise HubError("Salon cannot be reached just now; try again in a minute.") from None
    except ClientError as exc:
        body = exc.details if isinstance(exc.details, dict) else {}
        if exc.status in (401, 404, 410) and "error" in body:
            return Shared(None, None, body["error"], body.get("message"))
        raise HubError(f"Salon could not show this view (HTTP {exc.status}).") from None
    body = response.json()
    return Shared(body["link"], body["data"])
