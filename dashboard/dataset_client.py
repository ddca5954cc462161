"""The dashboard's operations on datasets: versions, rows, column notes, uploads, comparisons,
row annotations and lineage (sent through ``dashboard.hub_client``, like every other
operation)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import streamlit as st

from dashboard.hub_client import HubRefused, _post, _token, fetch, hub_url, read


def datasets(project: str) -> list[dict[str, Any]]:
    """A project's datasets with their versions."""
    result: list[dict[str, Any]] = read("Datasets", {"project": project})["datasets"]
    return result


def dataset_version(project: str, name: str, number: int | None) -> dict[str, Any] | None:
    """A dataset with its versions, and one version's columns and profile."""
    variables = {"project": project, "name": name, "number": number}
    result: dict[str, Any] | None = read("DatasetVersion", variables)["dataset"]
    return result


def dataset_rows(
    project: str,
    name: str,
    number: int | None,
    offset: int,
    limit: int,
    order_by: list[str] | None,
    filter: str | None = None,
) -> dict[str, Any]:
    """A page of rows, or an error result (``__typename`` FilterError or ValidationError)
    saying why the filter cannot run. Not cached: every preview is audited."""
    variables = {
        "project": project,
        "name": name,
        "number": number,
        "offset": offset,
        "limit": limit,
        "orderBy": order_by or None,
        "filter": (filter or "").strip() or None,
    }
    found = _post(hub_url(), _token(), "DatasetRows", variables)["dataset"]
    if found is None or found["version"] is None:
        raise HubRefused(f"The dataset {name!r} is not there any more, or you may not see it.")
    result: dict[str, Any] = found["version"]["rows"]
    return result


def describe_column(project: str, dataset: str, column: str, description: str) -> dict[str, Any]:
    variables = {
        "project": project,
        "dataset": dataset,
        "column": column,
        "description": description,
    }
    result: dict[str, Any] = _post(hub_url(), _token(), "DescribeDatasetColumn", variables)[
        "describeDatasetColumn"
    ]
    st.cache_data.clear()
    return result


def upload_dataset(project: str, name: str, filename: str, content: bytes, message: str) -> str:
    """Send a file as a new version; returns what happened, in words."""
    where = f"projects/{quote(project, safe='')}/datasets/{quote(name, safe='')}"
    params = {"filename": filename, "message": message}
    path = f"/api/v1/{where}/versions"
    body = fetch("POST", path, None, "", params=params, content=content, timeout=600).json()
    st.cache_data.clear()
    if not body["created"]:
        return f"Same content as version {body['version']}: nothing new was stored."
    return f"Version {body['version']} stored: {body['rows']:,} rows."


def compare_versions(
    project: str, name: str, before: int, after: int, key: str | None
) -> dict[str, Any]:
    """What changed between two versions (or an error result saying why it cannot say)."""
    variables = {"project": project, "name": name, "before": before, "after": after, "key": key}
    found = read("CompareDatasetVersions", variables)["dataset"]
    if found is None:
        raise HubRefused(f"The dataset {name!r} is not there any more, or you may not see it.")
    result: dict[str, Any] = found["compare"]
    return result


def row_annotations(project: str, name: str, number: int | None) -> dict[int, dict[str, Any]]:
    """The latest annotation per row number of a version."""
    found = _post(
        hub_url(),
        _token(),
        "DatasetAnnotations",
        {"project": project, "name": name, "number": number},
    )["dataset"]
    if found is None or found["version"] is None:
        return {}
    return {item["row"]: item for item in found["version"]["annotations"]}


def annotate(
    project: str, dataset: str, version: int, items: list[dict[str, Any]]
) -> dict[str, Any]:
    variables = {"project": project, "dataset": dataset, "version": version, "annotations": items}
    result: dict[str, Any] = _post(hub_url(), _token(), "AnnotateRows", variables)["annotateRows"]
    return result


def publish_annotations(project: str, dataset: str, version: int, message: str) -> dict[str, Any]:
    variables = {"project": project, "dataset": dataset, "version": version, "message": message}
    result: dict[str, Any] = _post(hub_url(), _token(), "PublishAnnotations", variables)[
        "publishAnnotations"
    ]
    st.cache_data.clear()
    return result


def lineage(project: str, name: str, number: int | None) -> list[dict[str, Any]]:
    """Runs that used a version, each with every dataset version it read or produced."""
    found = read("DatasetLineage", {"project": project, "name": name, "number": number})["dataset"]
    if found is None or found["version"] is None:
        return []
    result: list[dict[str, Any]] = found["version"]["runs"]
    return result
