"""Small pieces every page shares: showing hub errors, run statuses, durations, query params."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar

import streamlit as st

from dashboard import hub_client
from dashboard.hub_client import HubError, HubRefused

P = ParamSpec("P")
T = TypeVar("T")

# The hub sends RUNNING / FINISHED / FAILED / KILLED; people read them lowercase with a sign.
# Plain symbols rather than emoji: tables draw on a canvas, where emoji fonts are often missing.
STATUS_ICONS = {"RUNNING": "●", "FINISHED": "✔", "FAILED": "✖", "KILLED": "■"}
STATUS_COLORS = {
    "RUNNING": "#1c83e1",
    "FINISHED": "#21a366",
    "FAILED": "#e0393e",
    "KILLED": "#808495",
}
# A badge's look: a Material icon and one of the colours st.badge knows.
Badge = tuple[str, Literal["red", "orange", "yellow", "blue", "green", "violet", "gray"]]
STATUS_BADGES: dict[str, Badge] = {
    "RUNNING": (":material/autorenew:", "blue"),
    "FINISHED": (":material/check_circle:", "green"),
    "FAILED": (":material/error:", "red"),
    "KILLED": (":material/block:", "gray"),
}
# Which metric best sums up a run when only one fits, in order of preference.
KEY_METRIC_HINTS = ("acc", "f1", "auc", "score", "loss")


_SAID = "salon:said"  # what a change asked the next run to say (see ``tell``)


def tell(text: str, icon: str | None = None) -> None:
    """Say ``text`` in a toast when the page is drawn again, as it is right after a change
    (``st.rerun()``). A toast shown just before the rerun is lost now and then (the first of a
    visit, in a real browser), so it waits in the session and the next run shows it."""
    st.session_state[_SAID] = (text, icon)


def say_what_was_told() -> None:
    """The toast ``tell`` kept, shown once: every run of the dashboard calls it first."""
    said = st.session_state.pop(_SAID, None)
    if said is not None:
        text, icon = said
        st.toast(text, icon=icon)


def code_span(text: str) -> str:
    """``text`` as inline Markdown code, whatever backticks it holds: drawn as typed, without
    ``st.code``'s highlighter (a 1.5 MB script a first visit fetches and runs)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def load(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call the hub client; on failure show what to do and stop drawing the page."""
    try:
        return call(*args, **kwargs)
    except HubError as exc:
        # A refusal is no network fault: it gets a sign of its own.
        refused = isinstance(exc, HubRefused)
        st.error(str(exc), icon=":material/block:" if refused else ":material/cloud_off:")
        st.stop()
        raise  # st.stop() raises; this keeps type checkers honest.


ROLES = ("viewer", "commenter", "editor", "maintainer", "admin")  # each may what those before may


def role_in(project: str) -> str | None:
    """The signed-in person's role in ``project`` (by name, through groups too), or None."""
    ids = {p["name"]: p["id"] for p in load(hub_client.projects)}
    roles = {r["projectId"]: r["role"] for r in load(hub_client.me)["roles"]}
    return roles.get(ids.get(project, ""))


def may(project: str, needed: str) -> bool:
    """Whether the signed-in person may do what needs the ``needed`` role in ``project``: pages
    show only the controls a person can use (the hub checks every call again). A read-only
    token may only read."""
    role = role_in(project)
    if role is None or (needed != "viewer" and not load(hub_client.me)["canWrite"]):
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def not_allowed(project: str, what: str, needed: str) -> None:
    """Say, where a control would be, why it is not there and whom to ask."""
    role = role_in(project)
    st.caption(
        f":material/lock: {what} needs the {needed} role or above in {project}"
        + (f"; you are a {role}." if role else ".")
        + " A maintainer of the project can change your role."
    )


def status_label(status: str) -> str:
    """``FINISHED`` -> ``✅ finished``."""
    return f"{STATUS_ICONS.get(status, '•')} {status.lower()}"


def status_color(label: str) -> str:
    """CSS for a table cell holding :func:`status_label` text, for ``Styler.map``."""
    for status, icon in STATUS_ICONS.items():
        if label.startswith(icon):
            return f"color: {STATUS_COLORS[status]}"
    return ""


def status_badge(status: str) -> None:
    icon, color = STATUS_BADGES.get(status, (":material/help:", "gray"))
    st.badge(status.lower(), icon=icon, color=color)


def duration_text(seconds: float | None) -> str:
    """``5400`` -> ``1 h 30 min``; short and readable, not precise. A run of a fraction of a
    second (a notebook's quick check) reads as such, not as ``0 s``."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return "under 1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds and minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"


def key_metric(keys: list[str]) -> str | None:
    """The metric that best sums up a run, e.g. ``val/acc`` over ``lr``."""
    for hint in KEY_METRIC_HINTS:
        for key in sorted(keys, key=lambda k: (not k.startswith("val"), k)):
            if hint in key.lower():
                return key
    return sorted(keys)[0] if keys else None


def preferred_metrics(keys: list[str], count: int = 2) -> list[str]:
    """A sensible default selection of curves: losses and accuracies before the rest."""
    ranked = sorted(keys, key=lambda k: (not any(h in k.lower() for h in KEY_METRIC_HINTS), k))
    return ranked[:count]


def size_text(size: float) -> str:
    """Bytes in words: 512 B, 3.4 kB, 12 MB, 1.2 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return (
                f"{size / scale:.1f} {unit}" if size < 10 * scale else f"{size / scale:.0f} {unit}"
            )
    return f"{size:.0f} B"


def number_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}"


def query_param_list(name: str) -> list[str]:
    """A comma-separated query parameter such as ``runs=id1,id2`` as a list."""
    raw = st.query_params.get(name, "")
    return [part for part in raw.split(",") if part.strip()]


def no_projects() -> None:
    """What a page says when the person sees no project: that there are none yet, or that
    there are some they have no role in, and whom to ask."""
    reach = load(hub_client.projects_out_of_reach)
    if not reach["count"]:
        st.info(
            "No projects yet. Log a run from a notebook and its project appears here.",
            icon=":material/science:",
        )
        return
    admins = ", ".join(reach["siteAdmins"]) or "a site admin"
    some = "1 project" if reach["count"] == 1 else f"{reach['count']} projects"
    st.info(
        f"This hub has {some} you have no role in yet. Ask its maintainers, or {admins}, "
        "to add you.",
        icon=":material/group_add:",
    )


def pick_project(where: Any = st) -> str:
    """A project chooser that starts at the project in the link (``?project=``), stops the page
    with a note when there is none, and keeps the choice in the link."""
    projects = [p["name"] for p in load(hub_client.projects)]
    if not projects:
        no_projects()
        st.stop()
    wanted = st.query_params.get("project") or st.session_state.get("project")
    project: str = where.selectbox(
        "Project", projects, index=projects.index(wanted) if wanted in projects else 0
    )
    st.query_params["project"] = project
    st.session_state["project"] = project
    return project
