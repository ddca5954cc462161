"""Sharing a view: the "Share" button on the pages that can be shared, and what a share page
says when its address asks for more than the link shares."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from dashboard import share_client
from dashboard.hub_client import HubError


def refuse_more() -> None:
    """The share page's answer to an address that names more than its link (other runs,
    another page): a clear refusal, never something else quietly shown instead."""
    st.error(
        "**This address asks for more than its link shares.** A share link shows one "
        "view; open it as it was shared.",
        icon=":material/block:",
    )
    st.stop()


EXPIRY = {"7 days": 7, "30 days": 30, "90 days": 90, "1 year": 365}
MAX_METRICS = 8  # a link charts at most this many metrics
MAX_USAGE_DAYS = 90  # and shows at most this many days of the cluster's use


def share_button(
    values: dict[str, Any],
    title: str,
    *,
    projects: list[str] | None = None,
    where: Any = st,
) -> None:
    """A "Share" popover that makes a read-only link to exactly this view (``values``: the
    view and its objects, as ``createShareLink`` takes them) and shows its addresses once: the
    iframe to paste into a wiki page, the plain address, and the snapshots. ``projects`` lets
    the person pick the link's project when the view belongs to none (the cluster's usage)."""
    key = "share:" + json.dumps(values, sort_keys=True)
    with where.popover("Share", icon=":material/share:"):
        made: dict[str, Any] | None = st.session_state.get(key)
        if made is None and projects is not None and not projects:
            # A link reads as its maker within one project: without a role, there is none.
            st.info(
                "A share link belongs to a project, and you have no role in any yet. Ask "
                "a project's maintainer to add you.",
                icon=":material/group_add:",
            )
            return
        if made is None:
            _form(key, values, title, projects)
            return
        st.success(
            "Link made. Copy its addresses now: they are shown once.", icon=":material/link:"
        )
        st.caption("Embed code, for a wiki page (the copy button is at its right):")
        st.code(made["embedHtml"], language="html", wrap_lines=True)
        st.caption("The plain address, for chat and for wikis that understand oEmbed:")
        st.code(made["url"], language=None, wrap_lines=True)
        pictures = f"[HTML]({made['snapshotHtmlUrl']})"
        if made["snapshotPngUrl"]:  # charts only
            pictures = f"[PNG]({made['snapshotPngUrl']}) · " + pictures
        st.markdown(f"Snapshot, for wikis that forbid iframes: {pictures}")
        if st.button("Make another link", key=f"{key}:again", icon=":material/add_link:"):
            del st.session_state[key]
            st.rerun()


def _form(key: str, values: dict[str, Any], title: str, projects: list[str] | None) -> None:
    with st.form(f"{key}:form", border=False):
        st.caption(
            "A read-only link to this view, for a wiki or someone without an account. "
            "It reads as you: if you lose access, it stops working."
        )
        project = st.selectbox("Project", projects) if projects else values["project"]
        named = st.text_input("Title", value=title[:200], max_chars=200)
        days = st.selectbox("Expires after", list(EXPIRY), index=2)
        signed_in_only = st.toggle("Only people signed in to Salon")
        if not st.form_submit_button("Create link", type="primary", icon=":material/link:"):
            return
    try:
        made = share_client.create(
            {
                **values,
                "project": project,
                "title": named,
                "expiresInDays": EXPIRY[days],
                "signedInOnly": signed_in_only,
            }
        )
    except HubError as exc:
        st.error(str(exc))
        return
    st.session_state[key] = made
    st.rerun()
