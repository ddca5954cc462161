"""The dashboard's only door to data: named GraphQL operations sent to the Salon hub.

Operations live in ``dashboard/queries/*.graphql`` and are sent by name. The hub's address and
token come from ``SALON_URL`` and ``SALON_TOKEN``. Reads are cached for a few seconds with
``st.cache_data`` so that reruns (every click in Streamlit) do not hit the hub again.

Everything that can go wrong on the way raises :class:`HubError`, whose message tells the person
at the screen what to do; pages show it with ``st.error`` (see ``dashboard.ui.load``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import streamlit as st

DEFAULT_URL = "http://127.0.0.1:8000"
QUERIES_DIR = Path(__file__).parent / "queries"
CACHE_SECONDS = 15
TIMEOUT_SECONDS = 15.0

_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+(\w+)", re.MULTILINE)


class HubError(Exception):
    """The hub could not be asked, or did not answer; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class RunSearch:
    """One page of a run search, or why the search could not run."""

    runs: list[dict[str, Any]]
    total_count: int
    problem: str | None = None
    problem_kind: str | None = None  # FilterError, ValidationError or NotFoundError


@functools.cache
def operations() -> dict[str, str]:
    """Every named operation, mapped to the text of the file that defines it."""
    found: dict[str, str] = {}
    for path in sorted(QUERIES_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        for name in _OPERATION.findall(text):
            if name in found:
                raise ValueError(f"operation {name} is defined twice (again in {path.name})")
            found[name] = text
    return found


def hub_url() -> str:
    return os.environ.get("SALON_URL", DEFAULT_URL).rstrip("/")


def _token() -> str:
    return os.environ.get("SALON_TOKEN", "")


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=500)
def _cached(url: str, token: str, operation: str, variables_json: str) -> dict[str, Any]:
    # url and token are part of the cache key, so switching hubs never serves stale answers.
    return _post(url, token, operation, json.loads(variables_json))


def read(operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send a read-only operation, served from a short-lived cache when possible."""
    variables_json = json.dumps(variables or {}, sort_keys=True)
    return _cached(hub_url(), _token(), operation, variables_json)


def _post(url: str, token: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    document = operations().get(operation)
    if document is None:
        raise HubError(f"The dashboard has no GraphQL operation named {operation!r}.")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(
            f"{url}/graphql",
            json={"query": document, "operationName": operation, "variables": variables},
            headers=headers,
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException:
        raise HubError(
            f"The Salon hub at {url} took longer than {TIMEOUT_SECONDS:.0f} s to answer. "
            "Try again in a moment; if it keeps happening, check the hub's log."
        ) from None
    except httpx.HTTPError:
        raise HubError(
            f"Cannot reach the Salon hub at {url}. Start it with `salon up` (or `make run`), "
            "or set SALON_URL to the address where it runs."
        ) from None
    if response.status_code in (401, 403):
        raise HubError(
            f"The Salon hub at {url} did not accept the dashboard's token. Set SALON_TOKEN to "
            "a valid API token (`salon up` prints one)."
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or (response.status_code != 200 and "errors" not in body):
        raise HubError(
            f"The Salon hub at {url} answered with HTTP {response.status_code}. "
            "Check that SALON_URL points at a Salon hub and look at the hub's log."
        )
    if body.get("errors"):
        first = body["errors"][0].get("message", "unknown error")
        raise HubError(
            f"The Salon hub could not answer {operation}: {first} "
            "If this persists, the dashboard and hub versions may not match."
        )
    data: dict[str, Any] = body.get("data") or {}
    return data


# Reads used by the pages -------------------------------------------------------------------


def projects() -> list[dict[str, Any]]:
    """Every project you can see: id, name, description, runCount."""
    result: list[dict[str, Any]] = read("Projects")["projects"]
    return result


def project(name: str) -> dict[str, Any] | None:
    """One project with its metric keys, param keys and experiments, or None."""
    result: dict[str, Any] | None = read("ProjectKeys", {"name": name})["project"]
    return result


def search_runs(
    project: str | None = None,
    filter: str | None = None,
    order_by: list[str] | None = None,
    first: int = 200,
) -> RunSearch:
    """Runs matching the filter language, newest first unless ``order_by`` says otherwise."""
    variables = {
        "project": project,
        "filter": (filter or "").strip() or None,
        "orderBy": order_by or None,
        "first": first,
    }
    result = read("SearchRuns", variables)["runs"]
    kind = result.get("__typename")
    if kind == "RunConnection":
        return RunSearch(runs=result["nodes"], total_count=result["totalCount"])
    return RunSearch(runs=[], total_count=0, problem=result.get("message"), problem_kind=kind)


def run(run_id: str) -> dict[str, Any] | None:
    """One run with params, tags, notes, latest metrics and environment, or None."""
    result: dict[str, Any] | None = read("RunDetail", {"id": run_id})["run"]
    return result


def metric_series(
    run_ids: list[str],
    keys: list[str],
    buckets: int = 500,
    step_min: float | None = None,
    step_max: float | None = None,
) -> list[dict[str, Any]]:
    """Downsampled curves: one entry per (run, key) with steps, values, mins and maxs."""
    if not run_ids or not keys:
        return []
    variables = {
        "runIds": list(run_ids),
        "keys": list(keys),
        "buckets": buckets,
        "stepMin": step_min,
        "stepMax": step_max,
    }
    result: list[dict[str, Any]] = read("MetricSeries", variables)["metricSeries"]
    return result
