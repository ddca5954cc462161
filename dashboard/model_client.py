"""The dashboard's operations on the model registry (sent through ``dashboard.hub_client``,
like every other operation).

The registry's reads are never cached (checks finish and reviews arrive while a page is open),
so a review or an alias moved changes no cached answer and leaves the cache alone: clearing it
would make every open page of every person read everything again."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st

from dashboard.hub_client import HubError, _change, _post, _token, fetch, hub_url


def models(project: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Models", {"project": project})[
        "models"
    ]
    return result


def of_run(run_id: str) -> list[dict[str, Any]]:
    """The model versions registered from a run."""
    found: list[dict[str, Any]] = _post(hub_url(), _token(), "RunModelVersions", {"runId": run_id})[
        "runModelVersions"
    ]
    return found


def model(project: str, name: str) -> dict[str, Any]:
    """A model with its versions (never cached: checks finish while the page is open)."""
    found: dict[str, Any] = _post(hub_url(), _token(), "Model", {"project": project, "name": name})[
        "model"
    ]
    if found["__typename"] != "Model":
        raise HubError(found["message"])
    return found


def review_version(version_id: str, verdict: str, body: str) -> None:
    _change(
        "ReviewModelVersion",
        "reviewModelVersion",
        {"id": version_id, "verdict": verdict, "body": body},
    )


def move_alias(project: str, name: str, alias: str, version: int | None) -> None:
    _change(
        "MoveModelAlias",
        "moveModelAlias",
        {"project": project, "model": name, "alias": alias, "version": version},
    )


def card(version_id: str) -> dict[str, Any]:
    found: dict[str, Any] = _post(hub_url(), _token(), "ModelCard", {"versionId": version_id})[
        "modelCard"
    ]
    if found["__typename"] != "ModelCard":
        raise HubError(found["message"])
    return found


def write_card(project: str, name: str, section: str, body: str) -> None:
    _change(
        "WriteModelCard",
        "writeModelCard",
        {"project": project, "model": name, "section": section, "body": body},
    )


def start_review(
    version_id: str,
    dataset: str,
    prediction: str,
    truth: str | None,
    size: int,
    per_item: int,
    instructions: str,
) -> str:
    variables = {
        "versionId": version_id,
        "dataset": dataset,
        "predictionColumn": prediction,
        "truthColumn": truth,
        "size": size,
        "perItem": per_item,
        "instructions": instructions,
    }
    made = _change("StartReview", "startReview", variables)
    return str(made["id"])


def rerun_checks(version_id: str) -> None:
    _change("RerunModelChecks", "rerunModelChecks", {"id": version_id})


def waiting_reviews() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Reviews", {})["reviews"]
    return result


def review(review_id: str) -> dict[str, Any]:
    found: dict[str, Any] = _post(hub_url(), _token(), "Review", {"id": review_id})["review"]
    if found["__typename"] != "ReviewQueue":
        raise HubError(found["message"])
    return found


def review_samples(
    review_id: str, offset: int = 0, limit: int = 1, position: int | None = None
) -> dict[str, Any]:
    """The next sample for you (by default), a page of them, or the one at ``position``."""
    variables = {"id": review_id, "offset": offset, "limit": limit, "position": position}
    found: dict[str, Any] = _post(hub_url(), _token(), "ReviewSamples", variables)["reviewSamples"]
    if found["__typename"] != "ReviewSamples":
        raise HubError(found["message"])
    return found


def judge(review_id: str, position: int, correct: bool, label: str | None, comment: str) -> None:
    _change(
        "JudgeSample",
        "judgeSample",
        {
            "id": review_id,
            "position": position,
            "correct": correct,
            "label": label,
            "comment": comment,
        },
    )


def close_review(review_id: str) -> None:
    _change("CloseReview", "closeReview", {"id": review_id})


def publish_review(review_id: str, message: str) -> dict[str, Any]:
    made = _change("PublishReview", "publishReview", {"id": review_id, "message": message})
    st.cache_data.clear()
    return made


@st.cache_data(ttl=300, show_spinner=False, max_entries=200)
def sample_image(review_id: str, position: int, column: str, token: str) -> bytes:
    """The image a review sample names (a run artifact, or a file or object the hub may read),
    fetched through the hub, which holds the keys."""
    path = f"/api/v1/reviews/{quote(review_id, safe='')}/samples/{position}/image"
    return fetch("GET", path, token, "", params={"column": column}, timeout=60).content
