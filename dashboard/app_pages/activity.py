"""Activity: your inbox (mentions, replies, what you follow) and what changed in each project.

Times are shown in your own time zone. "Since I last looked" shows what happened in a project
since you last pressed "Mark all as seen", for teams spread over time zones.
"""

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import hub_client
from dashboard.discussion import reader_zone, when
from dashboard.ui import load, no_projects, tell

REASONS = {
    "mention": "mentioned you",
    "reply": "in your thread",
    "watch": "you follow this",
    "assign": "assigned to you",
}
KINDS = {
    "Everything": None,
    "Runs": ["run."],
    "Datasets": ["dataset."],
    "Comments": ["comment."],
    "People and roles": ["membership.", "object.", "project."],
}


def link(entry: dict[str, Any]) -> None:
    """A link to where the entry happened, when a page shows it."""
    kind = entry["targetKind"] or entry["objectKind"]
    object_id = entry["targetId"] or entry["objectId"]
    if kind == "run" and object_id:
        st.page_link(
            "app_pages/run.py",
            label="Open the run",
            icon=":material/description:",
            query_params={"id": object_id},
        )


st.title("Activity")
st.caption(f"Times in your time zone ({reader_zone().key}).")
inbox_tab, feed_tab, digest_tab = st.tabs(["Inbox", "What changed", "Digest by e-mail"])

with digest_tab:
    chosen = load(hub_client.digest_settings)
    st.caption(
        "A summary of what you missed: your notifications, your open tasks and each "
        "project's changes."
    )
    with st.form("digest"):
        options = ["off", "daily", "weekly"]
        frequency = st.radio(
            "Send me a digest", options, horizontal=True, index=options.index(chosen["frequency"])
        )
        known = chosen["timeZone"] if chosen["frequency"] != "off" else reader_zone().key
        zone = st.text_input("Time zone", value=known, help="Times in the digest are shown in it.")
        if st.form_submit_button("Save"):
            try:
                hub_client.set_digest_settings(frequency, zone.strip())
            except hub_client.HubError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                tell("Saved")
                st.rerun()
    if chosen["lastSentAt"]:
        st.caption(f"The last one went out on {when(chosen['lastSentAt'])}.")
    if st.toggle("Preview the next one"):
        preview = load(hub_client.digest_preview)
        st.markdown(f"**{preview['subject']}**")
        st.markdown(preview["markdown"])

with inbox_tab:
    only_unread = st.toggle("Only unread", value=True)
    mail = load(hub_client.inbox, only_unread)
    unread = mail["unreadNotifications"]
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.markdown(f"**{unread} unread**" if unread else "Nothing unread.")
    if unread and right.button("Mark all as read", icon=":material/done_all:"):
        load(hub_client.mark_read, None)
        st.rerun()
    if not mail["inbox"]:
        st.caption(
            "When someone mentions you, replies in your thread, or changes something "
            "you follow, it shows up here."
        )
    for notice in mail["inbox"]:
        entry = notice["entry"]
        with st.container(border=True):
            fresh = "" if notice["readAt"] else ":blue-badge[new] "
            st.markdown(f"{fresh}**{entry['actorDisplayName']}** {entry['summary']}")
            st.caption(
                f"{entry['project'] or ''} · {when(entry['at'])} · "
                f"{REASONS.get(notice['reason'], notice['reason'])}"
            )
            excerpt = (entry["detail"] or {}).get("excerpt")
            if excerpt:
                st.markdown(f"> {excerpt}")
            columns = st.columns([1, 1, 3])
            with columns[0]:
                link(entry)
            if not notice["readAt"] and columns[1].button("Mark read", key=f"read:{entry['id']}"):
                load(hub_client.mark_read, [entry["id"]])
                st.rerun()

with feed_tab:
    projects = [p["name"] for p in load(hub_client.projects)]
    if not projects:
        no_projects()
        st.stop()
    left, middle, right = st.columns([2, 2, 2])
    project = left.selectbox("Project", projects)
    kind = middle.selectbox("Show", list(KINDS))
    person = right.text_input("By (sign-in name)", placeholder="anyone")
    since = st.toggle(
        "Only since I last looked",
        help="Changes since you last pressed “Mark all as seen” for this project.",
    )
    page = load(hub_client.activity, project, person.strip() or None, KINDS[kind], None, since, 100)
    if since:
        looked = page["lastLooked"]
        never = "You have not marked this project seen before: showing recent changes."
        st.caption(f"You last looked on {when(looked)}." if looked else never)
    if st.button("Mark all as seen", icon=":material/visibility:"):
        load(hub_client.mark_feed_seen, project)
        tell("Marked as seen")
        st.rerun()
    entries = page["entries"]
    if not entries:
        st.caption("Nothing happened here yet." if not since else "Nothing new since then.")
    else:
        table = pd.DataFrame(
            {
                "when": [when(e["at"]) for e in entries],
                "who": [e["actorDisplayName"] for e in entries],
                "what": [e["summary"] for e in entries],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")
        if page["nextBefore"]:
            st.caption("Showing the latest 100 changes.")
