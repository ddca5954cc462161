"""The dashboard's only door to data: named GraphQL operations sent to the Salon hub.

Operations live in ``dashboard/queries/*.graphql`` and are sent by name. The hub's address comes
from ``SALON_URL``; the token is the signed-in person's (see ``dashboard.auth``) or
``SALON_TOKEN``. Reads are cached for a few seconds with
``st.cache_data`` so that reruns (every click in Streamlit) do not hit the hub again.

Everything that can go wrong on the way raises :class:`HubError`, whose message tells the person
at the screen what to do; pages show it with ``st.error`` (see ``dashboard.ui.load``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import streamlit as st

from dashboard import auth
from dashboard.config import settings
from dashboard.operations import operations
from hub.client.errors import HubError as ClientError
from hub.client.transport import Connection, HubUnreachable, shared_connection

CACHE_SECONDS = 15
TIMEOUT_SECONDS = 15.0


class HubError(ClientError):
    """The hub could not be asked, or did not answer; the message says what to do (the
    client's error, worded for the person at the screen)."""


class HubRefused(HubError):
    """The hub answered and refused (rights, input, a missing object); the message says why."""


@dataclasses.dataclass(frozen=True)
class RunSearch:
    """One page of a run search, or why the search could not run."""

    runs: list[dict[str, Any]]
    total_count: int
    problem: str | None = None
    problem_kind: str | None = None  # FilterError, ValidationError or NotFoundError


def hub_url() -> str:
    return settings().url.rstrip("/")


def _token() -> str:
    return auth.token()


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=500)
def _cached(url: str, token: str, operation: str, variables_json: str) -> dict[str, Any]:
    # url and token are part of the cache key, so switching hubs never serves stale answers.
    return _post(url, token, operation, json.loads(variables_json))


def read(operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send a read-only operation, served from a short-lived cache when possible."""
    variables_json = json.dumps(variables or {}, sort_keys=True)
    return _cached(hub_url(), _token(), operation, variables_json)


def connection(token: str | None = None, timeout: float = TIMEOUT_SECONDS) -> Connection:
    """The pooled connection to the hub for this token (the signed-in person's by default)."""
    return shared_connection(hub_url(), _token() if token is None else token, timeout)


def _post(url: str, token: str, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    document = operations().get(operation)
    if document is None:
        raise HubError(f"The dashboard has no GraphQL operation named {operation!r}.")
    try:
        hub = shared_connection(url, token, TIMEOUT_SECONDS)
        return hub.graphql(document, variables, operation)
    except HubUnreachable as exc:
        if exc.timed_out:
            raise HubError(
                f"The Salon hub at {url} took longer than {TIMEOUT_SECONDS:.0f} s to answer. "
                "Try again in a moment; if it keeps happening, check the hub's log."
            ) from None
        raise HubError(
            f"Cannot reach the Salon hub at {url}. Start it with `salon up` (or `make run`), "
            "or set SALON_URL to the address where it runs."
        ) from None
    except ClientError as exc:
        raise HubError(_explain(url, operation, exc)) from None


def _explain(url: str, operation: str, refused: ClientError) -> str:
    """What the person at the screen should know of a refused request."""
    if refused.status == 429:
        return "Too many failed attempts from this address; wait a minute and retry."
    if refused.status in (401, 403):
        if auth.sign_in_configured():
            return "Your sign-in has expired. Sign out (in the sidebar) and sign in again."
        return (
            f"The Salon hub at {url} did not accept the dashboard's token. Set SALON_TOKEN to "
            "a valid API token (`salon up` prints one)."
        )
    if refused.details:
        return (
            f"The Salon hub could not answer {operation}: {refused.details[0].get('message')} "
            "If this persists, the dashboard and hub versions may not match."
        )
    return (
        f"The Salon hub at {url} answered with HTTP {refused.status}. "
        "Check that SALON_URL points at a Salon hub and look at the hub's log."
    )


def fetch(method: str, path: str, token: str | None, what: str, **kwargs: Any) -> httpx.Response:
    """A request to the hub's REST side; a refusal raises HubRefused saying ``what`` failed."""
    try:
        return connection(token).send(method, path, **kwargs)
    except HubUnreachable:
        raise HubError(f"Cannot reach the Salon hub at {hub_url()}.") from None
    except ClientError as exc:
        raise HubRefused(f"{what}: {exc.message}" if what else exc.message) from None


# Reads used by the pages -------------------------------------------------------------------


def projects() -> list[dict[str, Any]]:
    """Every project you can see: id, name, description, runCount."""
    result: list[dict[str, Any]] = read("Projects")["projects"]
    return result


def projects_out_of_reach() -> dict[str, Any]:
    """How many projects you have no role in, and the site admins who can give you one."""
    result: dict[str, Any] = read("ProjectsOutOfReach")["projectsOutOfReach"]
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


def rename_run(run_id: str, name: str) -> dict[str, Any]:
    """Give the run another name (its editors); MLflow clients see it too."""
    done = _change("RenameRun", "renameRun", {"id": run_id, "name": name})
    st.cache_data.clear()  # lists and pages read before must show the new name
    return done


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


# The signed-in person, their tokens and the audit trail ----------------------------------


def me() -> dict[str, Any]:
    """Who the hub says the dashboard is acting for: account, rights."""
    result: dict[str, Any] = read("Me")["me"]
    return result


def me_or_none() -> dict[str, Any] | None:
    """:func:`me`, or None when the hub cannot say (the page then shows why)."""
    try:
        return me()
    except HubError:
        return None


def api_tokens() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "ApiTokens", {})["apiTokens"]
    return result


def create_api_token(
    name: str, projects: list[str] | None, can_write: bool, expires_in_days: int
) -> dict[str, Any]:
    """A new token with its secret, or an error result (``__typename`` ends in Error)."""
    variables = {
        "name": name,
        "projects": projects or None,
        "canWrite": can_write,
        "expiresInDays": expires_in_days,
    }
    result: dict[str, Any] = _post(hub_url(), _token(), "CreateApiToken", variables)[
        "createApiToken"
    ]
    return result


def revoke_api_token(token_id: str) -> dict[str, Any]:
    result: dict[str, Any] = _post(hub_url(), _token(), "RevokeApiToken", {"id": token_id})[
        "revokeApiToken"
    ]
    return result


def audit_events(filters: dict[str, Any], first: int = 200) -> dict[str, Any]:
    """A page of audit events (never cached: reading the trail is itself audited)."""
    variables = {"filter": filters, "first": first}
    result: dict[str, Any] = _post(hub_url(), _token(), "AuditEvents", variables)["auditEvents"]
    return result


def audit_projects() -> list[dict[str, Any]]:
    """Every project (id, name), for audit readers, who may hold no role in any."""
    result: list[dict[str, Any]] = read("AuditProjects")["auditProjects"]
    return result


def current_token() -> str:
    """The token to send; read it while the page runs (a download's deferred callable runs
    outside the page, where the signed-in person is not known)."""
    return _token()


def audit_export(filters: dict[str, Any], kind: str, token: str) -> bytes:
    """The matching events as a CSV or Parquet file."""
    params = {"format": kind, **{k: v for k, v in filters.items() if v}}
    path = "/api/v1/audit/export"
    return fetch("GET", path, token, "The export failed", params=params, timeout=120).content


def artifact(download_path: str, token: str) -> bytes:
    """A file logged with a run, from the hub's artifact proxy."""
    return fetch("GET", download_path, token, "The file cannot be read", timeout=300).content


def users() -> list[dict[str, Any]]:
    """Everyone with an account: id, name, display name."""
    result: list[dict[str, Any]] = read("Users")["users"]
    return result


# Discussions, activity and the inbox --------------------------------------------------------


MAX_THREADS_SHOWN = 400


def discussion(kind: str, object_id: str) -> dict[str, Any]:
    """The threads on an object, oldest first, up to :data:`MAX_THREADS_SHOWN` (fetched 40 at
    a time; never cached: a new comment must show on the next rerun)."""
    threads: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"kind": kind, "id": object_id, "after": after}
        found: dict[str, Any] = _post(hub_url(), _token(), "Discussion", variables)["discussion"]
        if found["__typename"] != "Discussion":
            raise HubRefused(found["message"])
        threads += found["threads"]
        after = found["pageInfo"]["endCursor"]
        if not found["pageInfo"]["hasNextPage"] or len(threads) >= MAX_THREADS_SHOWN:
            return {**found, "threads": threads}


def mention_candidates(kind: str, object_id: str) -> list[dict[str, Any]]:
    """People and groups who can see the object, for @mentions."""
    variables = {"kind": kind, "id": object_id, "prefix": ""}
    result: list[dict[str, Any]] = read("MentionCandidates", variables)["mentionCandidates"]
    return result


def _change(operation: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Send a mutation that answers with a typed result; raise its error's message."""
    result: dict[str, Any] = _post(hub_url(), _token(), operation, variables)[field]
    if result["__typename"].endswith("Error"):
        raise HubRefused(result["message"])
    return result


def add_comment(
    kind: str,
    object_id: str,
    body: str,
    anchor: dict[str, Any] | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    variables = {"kind": kind, "id": object_id, "body": body, "anchor": anchor, "replyTo": reply_to}
    return _change("AddComment", "addComment", variables)


def edit_comment(comment_id: str, body: str) -> dict[str, Any]:
    return _change("EditComment", "editComment", {"id": comment_id, "body": body})


def delete_comment(comment_id: str) -> dict[str, Any]:
    return _change("DeleteComment", "deleteComment", {"id": comment_id})


def resolve_thread(comment_id: str, resolved: bool) -> dict[str, Any]:
    return _change("ResolveThread", "resolveThread", {"id": comment_id, "resolved": resolved})


def react(comment_id: str, emoji: str, on: bool) -> dict[str, Any]:
    return _change("React", "react", {"id": comment_id, "emoji": emoji, "on": on})


def watch(kind: str, object_id: str, on: bool) -> dict[str, Any]:
    return _change("Watch", "watch", {"kind": kind, "id": object_id, "on": on})


def activity(
    project: str | None,
    actor: str | None = None,
    verbs: list[str] | None = None,
    before: str | None = None,
    since_last_look: bool = False,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of the activity feed (never cached: reads are audited and should be fresh)."""
    variables = {
        "project": project,
        "actor": actor,
        "verbs": verbs,
        "before": before,
        "limit": limit,
        "sinceLastLook": since_last_look,
    }
    found: dict[str, Any] = _post(hub_url(), _token(), "Activity", variables)["activity"]
    if found["__typename"] != "ActivityPage":
        raise HubRefused(found["message"])
    return found


def inbox(unread: bool) -> dict[str, Any]:
    """Your notifications and how many are unread."""
    return _post(hub_url(), _token(), "Inbox", {"unread": unread})


def unread_count_or_zero() -> int:
    """How many notifications are unread (0 when the hub cannot say; pages show why)."""
    try:
        count: int = read("UnreadCount")["unreadNotifications"]
    except HubError:
        return 0
    return count


def mark_read(ids: list[str] | None) -> int:
    count: int = _change("MarkNotificationsRead", "markNotificationsRead", {"ids": ids})["count"]
    st.cache_data.clear()
    return count


def mark_feed_seen(project: str) -> None:
    _change("MarkFeedSeen", "markFeedSeen", {"project": project})


# Tasks -------------------------------------------------------------------------------------


def tasks(project: str) -> list[dict[str, Any]]:
    """A project's tasks (never cached: the board must show moves at once)."""
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Tasks", {"project": project})[
        "tasks"
    ]
    return result


def my_work() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "MyWork", {})["myWork"]
    return result


def create_task(project: str, values: dict[str, Any]) -> dict[str, Any]:
    return _change("CreateTask", "createTask", {"project": project, "input": values})


def update_task(task_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return _change("UpdateTask", "updateTask", {"id": task_id, "input": values})


def digest_settings() -> dict[str, Any]:
    result: dict[str, Any] = _post(hub_url(), _token(), "DigestSettings", {})["digestSettings"]
    return result


def digest_preview() -> dict[str, Any]:
    result: dict[str, Any] = _post(hub_url(), _token(), "DigestPreview", {})["digestPreview"]
    return result


def set_digest_settings(frequency: str, time_zone: str) -> None:
    _change(
        "SetDigestSettings", "setDigestSettings", {"frequency": frequency, "timeZone": time_zone}
    )


# Wiki pages and notebooks ------------------------------------------------------------------


def pages(project: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = _post(hub_url(), _token(), "Pages", {"project": project})[
        "pages"
    ]
    return result


def page(project: str, slug: str, version: int | None = None) -> dict[str, Any]:
    variables = {"project": project, "slug": slug, "version": version}
    found: dict[str, Any] = _post(hub_url(), _token(), "Page", variables)["page"]
    if found["__typename"] != "Page":
        raise HubRefused(found["message"])
    return found


def run_notebooks(run_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = read("RunNotebooks", {"runId": run_id})["runNotebooks"]
    return result


def save_page(
    project: str, slug: str, title: str, body: str, message: str, kind: str = "page"
) -> dict[str, Any]:
    variables = {
        "project": project,
        "slug": slug,
        "title": title,
        "body": body,
        "message": message,
        "kind": kind,
    }
    return _change("SavePage", "savePage", variables)
