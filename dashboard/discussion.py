"""The discussion under anything shown on a page: threads, replies, reactions, @mentions.

``show(kind, object_id, anchors=...)`` draws the threads on an object and a box to start one.
Streamlit cannot hold the hub's WebSocket open for a page, so the threads poll the hub instead,
every :data:`POLL_SECONDS` while the page is open.
Comments arrive from the hub already rendered and sanitized (Markdown → HTML, nh3); times are
shown in the reader's own time zone, which the browser tells Streamlit.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from dashboard import hub_client
from dashboard.ui import tell

Anchor = dict[str, Any]
POLL_SECONDS = 1.5  # others' comments appear within two seconds


def reader_zone() -> ZoneInfo:
    """The reader's time zone (from their browser), UTC when it is not known."""
    try:
        return ZoneInfo(st.context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(text: str | None) -> str:
    """An ISO time from the hub, in the reader's zone: "27 Nov 14:05 CET"."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(reader_zone())
    return moment.strftime("%d %b %H:%M %Z")


def anchor_text(anchor: Anchor | None) -> str:
    """What part of the object a thread is about, in words."""
    if not anchor:
        return ""
    if anchor.get("steps"):
        low, high = anchor["steps"]
        return f"on {anchor.get('metric')}, steps {low:,} to {high:,}"
    if anchor.get("filter"):
        return f"on rows where {anchor['filter']}"
    if anchor.get("row") is not None:
        return f"on row {anchor['row']}" + (f", {anchor['column']}" if anchor.get("column") else "")
    if anchor.get("column"):
        return f"on column {anchor['column']}"
    if anchor.get("cell") is not None:
        return f"on cell {anchor['cell'] + 1}"
    return ""


def _act(work: Callable[[], object], done: str | None = None, box: str | None = None) -> None:
    """Send a change; say what went wrong in words, or rerun to show it, with the box it was
    written in (an expander or popover, see :func:`_box_key`) drawn closed."""
    try:
        work()
    except hub_client.HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if done:
        tell(done)
    if box:
        st.session_state[_sent(box)] = st.session_state.get(_sent(box), 0) + 1
    st.rerun()


def _box_key(box: str) -> str:
    """The key the box ``box`` (an expander or popover) is drawn under: a new one each time
    what was written in it is sent, so that it is drawn closed. Setting its state to closed
    would not do: the threads poll the hub, and a poll the browser sent before it saw the box
    close carries the box as open, which Streamlit takes over the page's word."""
    return f"{box}:{st.session_state.get(_sent(box), 0)}"


def _sent(box: str) -> str:
    """The session key counting the times what was written in the box ``box`` was sent."""
    return f"{box}:sent"


def _nothing_shown(words: str) -> None:
    """A caption where a discussion shows no comment, drawn as HTML as comments are: the
    browser then has the code that draws one before the first arrives (fetched with the first
    comment, it drew it half a second later than the next)."""
    st.html(f'<p style="opacity: 0.6; font-size: 0.875rem; margin: 0">{html.escape(words)}</p>')


def _with_mentions(body: str, names: list[str]) -> str:
    missing = [n for n in names if f"@{n}" not in body]
    return (body.rstrip() + " " + " ".join(f"@{n}" for n in missing)).strip()


def _composer(
    kind: str,
    object_id: str,
    key: str,
    anchors: list[tuple[str, Anchor | None]],
    reply_to: str | None = None,
    box: str | None = None,
) -> None:
    """A form to write a comment: text, people to mention and (for a new thread) the part of
    the object it is about; ``box``: the expander it is drawn in, closed once it is sent."""
    try:
        people = hub_client.mention_candidates(kind, object_id)
    except hub_client.HubError:
        people = []
    labels = {p["name"]: f"@{p['name']} ({p['displayName']})" for p in people}
    with st.form(key, clear_on_submit=True, border=reply_to is None):
        body = st.text_area(
            "Reply" if reply_to else "Comment",
            key=f"{key}:body",
            height=90,
            placeholder="Markdown works: **bold**, `code`, [links](https://…). Type @name to "
            "mention someone, or pick people below.",
        )
        mention = st.multiselect(
            "Mention",
            list(labels),
            format_func=labels.__getitem__,
            key=f"{key}:mention",
            placeholder="Type a name",
        )
        anchor = None
        if len(anchors) > 1 and reply_to is None:
            chosen = st.selectbox("About", [label for label, _ in anchors], key=f"{key}:about")
            anchor = dict(anchors)[chosen]
        elif anchors and reply_to is None:  # one thing it can be about: no choice to draw
            anchor = anchors[0][1]
        if st.form_submit_button("Reply" if reply_to else "Comment", icon=":material/send:"):
            text = _with_mentions(body, mention)
            if not text.strip():
                st.warning("Write something first.")
                return
            _act(
                lambda: hub_client.add_comment(kind, object_id, text, anchor, reply_to),
                "Comment sent",
                box,
            )


def _comment(comment: dict[str, Any], me: str | None, key: str) -> None:
    header = f"**{comment['authorDisplayName']}** · {when(comment['createdAt'])}"
    if comment["editedAt"]:
        header += " · _edited_"
    st.markdown(header)
    if comment["deletedAt"]:
        st.caption("_This comment was deleted._")
        return
    st.html(comment["html"])
    buttons = st.columns([1] * 6 + [4], gap="small")
    reacted = {r["emoji"]: r for r in comment["reactions"]}
    quick = {"+1": "👍", "-1": "👎", "tada": "🎉", "eyes": "👀"}
    for column, (emoji, symbol) in zip(buttons, quick.items(), strict=False):
        mine = reacted.get(emoji, {}).get("mine", False)
        count = reacted.get(emoji, {}).get("count", 0)
        who = ", ".join(reacted.get(emoji, {}).get("people", [])) or "nobody yet"
        if column.button(
            f"{symbol} {count}" if count else symbol,
            key=f"{key}:{emoji}",
            type="primary" if mine else "tertiary",
            help=who,
        ):
            _act(functools.partial(hub_client.react, comment["id"], emoji, not mine))
    if me is not None and comment["author"] == me:
        box = f"{key}:editing"
        editing = buttons[4].popover(
            "Edit", icon=":material/edit:", key=_box_key(box), on_change="rerun"
        )
        if editing.open:  # its form is drawn once someone opens it, not on every poll
            with editing, st.form(f"{key}:edit"):
                text = st.text_area("Your comment", comment["body"], key=f"{key}:edit:body")
                if st.form_submit_button("Save"):
                    saved = functools.partial(hub_client.edit_comment, comment["id"], text)
                    _act(saved, "Comment saved", box)
        if buttons[5].button(
            "Delete", key=f"{key}:delete", icon=":material/delete:", type="tertiary"
        ):
            _act(lambda: hub_client.delete_comment(comment["id"]), "Comment deleted")


def read(kind: str, object_id: str) -> dict[str, Any] | None:
    """The discussion on an object as the page opens, or None (said on the page) if it cannot
    be read: for pages that mark anchored threads elsewhere, such as on a chart, before
    :func:`show` draws the threads."""
    try:
        return hub_client.discussion(kind, object_id)
    except hub_client.HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def show(
    kind: str,
    object_id: str,
    *,
    anchors: list[tuple[str, Anchor | None]] | None = None,
    title: str = "Discussion",
    found: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The threads on an object, refreshed every :data:`POLL_SECONDS` so that others'
    comments appear while the page is open, and a box to start one. ``found`` is the
    discussion if the page already read it (:func:`read`). Returns the discussion as the page
    opened, or None if it cannot be read."""
    found = found or read(kind, object_id)
    if found is None:
        return None
    st.session_state[_fetched(kind, object_id)] = found  # the threads below draw it, once
    _threads(kind, object_id, title)
    _new_thread(kind, object_id, anchors or [])
    return found


@st.fragment
def _new_thread(kind: str, object_id: str, anchors: list[tuple[str, Anchor | None]]) -> None:
    """The box to start a thread. A fragment: sending a comment reruns only this box before
    the whole page is drawn again with the comment, instead of the page twice."""
    _composer(kind, object_id, f"new:{kind}:{object_id}", anchors)


def _fetched(kind: str, object_id: str) -> str:
    return f"discussion-fetched:{kind}:{object_id}"


@st.fragment(run_every=POLL_SECONDS)
def _threads(kind: str, object_id: str, title: str) -> None:
    # In the page's own run the discussion was just read; on its own reruns (every
    # POLL_SECONDS, or a click inside it) the fragment reads it afresh.
    found = st.session_state.pop(_fetched(kind, object_id), None)
    try:
        found = found or hub_client.discussion(kind, object_id)
    except hub_client.HubError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    me_record = hub_client.me_or_none()
    me = me_record["user"]["name"] if me_record else None
    head, follow = st.columns([4, 1], vertical_alignment="center")
    open_count = found["openThreads"]
    head.subheader(f"{title} ({open_count} open)" if found["threads"] else title)
    watching = found["watching"]
    if follow.button(
        "Unfollow" if watching else "Follow",
        key=f"watch:{kind}:{object_id}",
        icon=":material/notifications:",
        help="Followers get new comments and changes in their inbox.",
    ):
        said = "Stopped following" if watching else "Following: news arrives in your inbox"
        _act(lambda: hub_client.watch(kind, object_id, not watching), said)
    show_resolved = st.toggle("Show resolved threads", key=f"resolved:{kind}:{object_id}")
    threads = [t for t in found["threads"] if show_resolved or not t["resolvedAt"]]
    if found["pageInfo"]["hasNextPage"]:
        shown = len(found["threads"])
        st.caption(
            f"Showing the first {shown} threads; notebooks page through the rest with "
            "GraphQL's discussion(after: …)."
        )
    if not found["threads"]:
        _nothing_shown("No comments yet. Start the discussion below.")
    elif not threads:
        _nothing_shown("Every thread is resolved.")
    for thread in threads:
        with st.container(border=True):
            about = anchor_text(thread["anchor"])
            if about or thread["resolvedAt"]:
                resolved = f"resolved by {thread['resolvedBy']}" if thread["resolvedAt"] else ""
                st.caption(" · ".join(part for part in (about, resolved) if part))
            for comment in thread["comments"]:
                _comment(comment, me, f"c:{comment['id']}")
            left, right = st.columns([3, 1])
            box = f"replying:{thread['id']}"
            replying = left.expander("Reply", key=_box_key(box), on_change="rerun")
            if replying.open:  # the form is drawn once someone opens it, not on every poll
                with replying:
                    _composer(
                        kind, object_id, f"reply:{thread['id']}", [], reply_to=thread["id"], box=box
                    )
            label = "Reopen" if thread["resolvedAt"] else "Resolve"
            if right.button(label, key=f"resolve:{thread['id']}", icon=":material/check_circle:"):
                resolve = not thread["resolvedAt"]
                _act(functools.partial(hub_client.resolve_thread, thread["id"], resolve))
