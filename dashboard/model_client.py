"""The dashboard's operations on the model registry (sent through ``dashboard.hub_client``,
like every other operation)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.hub_client import HubError, _change, _post, _token, hub_url


def models(project: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Models", {"project": project})[
        "models"
    ]
    return result


def model(project: str, name: str) -> dict[str, Any]:
    """A model with its versions (never cached: checks finish while the page is open)."""
    found: dict[str, Any] = _post(hub_url(), _token(), "Model",
                                  {"project": project, "name": name})["model"]  # fmt: skip
    if found["__typename"] != "Model":
        raise HubError(found["message"])
    return found


def review(version_id: str, verdict: str, body: str) -> None:
    _change("ReviewModelVersion", "reviewModelVersion",
            {"id": version_id, "verdict": verdict, "body": body})  # fmt: skip
    st.cache_data.clear()


def move_alias(project: str, name: str, alias: str, version: int | None) -> None:
    _change("MoveModelAlias", "moveModelAlias",
            {"project": project, "model": name, "alias": alias, "version": version})  # fmt: skip
    st.cache_data.clear()


def rerun_checks(version_id: str) -> None:
    _change("RerunModelChecks", "rerunModelChecks", {"id": version_id})
