"""Settings: your account, your personal API tokens for notebooks and CI, and what each
project shares through links."""

import pandas as pd
import streamlit as st

from dashboard import hub_client, share_client
from dashboard.hub_client import HubError
from dashboard.ui import load

st.title("Settings")
me = load(hub_client.me)
user = me["user"]
st.markdown(f"**{user['displayName']}** · `{user['name']}` · {user['email'] or 'no e-mail'}")

st.subheader("API tokens")
st.caption(
    "A token lets a notebook, script or CI job act as you: `export SALON_TOKEN=…`. "
    "Limit it to the projects and rights it needs; revoking it stops it at once."
)

created = st.session_state.pop("new_token", None)
if created is not None:
    st.success("Token created. Copy it now: it is shown only this once.", icon=":material/key:")
    st.code(created, language=None)

with st.form("new-token", clear_on_submit=True):
    name = st.text_input("Name", placeholder="e.g. laptop notebook, nightly CI", max_chars=200)
    projects = [p["name"] for p in load(hub_client.projects)]
    scope = st.multiselect("Only these projects", projects, help="Leave empty for all of yours.")
    can_write = st.toggle("May change things (log runs, edit notes)", value=False)
    days = st.select_slider("Expires after (days)", [7, 30, 90, 180, 365], value=90)
    if st.form_submit_button("Create token", type="primary", disabled=not me["canWrite"]):
        if not name.strip():
            st.error("Give the token a name, so you know later what it is for.")
        else:
            result = load(hub_client.create_api_token, name, scope, can_write, days)
            if result["__typename"] == "NewApiToken":
                st.session_state["new_token"] = result["secret"]
                st.rerun()
            st.error(result["message"])

tokens = load(hub_client.api_tokens)
if not tokens:
    st.info("You have no API tokens yet.")
else:
    frame = pd.DataFrame(
        {
            "name": [t["name"] for t in tokens],
            "rights": ["read and write" if t["canWrite"] else "read only" for t in tokens],
            "projects": [
                "all" if t["projectIds"] is None else len(t["projectIds"]) for t in tokens
            ],
            "created": [t["createdAt"][:16].replace("T", " ") for t in tokens],
            "expires": [(t["expiresAt"] or "never")[:10] for t in tokens],
            "state": ["revoked" if t["revokedAt"] else "active" for t in tokens],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    active = {
        f"{t['name']} (created {t['createdAt'][:10]})": t["id"]
        for t in tokens
        if not t["revokedAt"]
    }
    if active:
        with st.form("revoke-token"):
            choice = st.selectbox("Revoke a token", list(active))
            if st.form_submit_button("Revoke", icon=":material/block:"):
                result = load(hub_client.revoke_api_token, active[choice])
                if result["__typename"] == "ApiToken":
                    st.toast("Token revoked; it no longer works.")
                    st.rerun()
                st.error(result["message"])

st.subheader("Share links")
st.caption(
    "Read-only links to one view (a chart, a card, a page), made with the Share button on "
    "those pages for wikis and people without an account. Each reads as whoever made it and "
    "stops working when it expires, is revoked, or its maker loses access."
)
project = st.selectbox("Project", projects, key="share-links-project")
links = load(share_client.of_project, project) if project else []
if not links:
    st.info("Nothing from this project is shared.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "title": [link["title"] for link in links],
                "shows": [link["view"].replace("_", " ").lower() for link in links],
                "made by": [link["createdBy"] for link in links],
                "for": [
                    "signed-in people" if link["signedInOnly"] else "anyone with it"
                    for link in links
                ],
                "expires": [link["expiresAt"][:10] for link in links],
                "last viewed": [
                    (link["lastViewedAt"] or "never")[:16].replace("T", " ") for link in links
                ],
                "state": [link["state"] for link in links],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    working = {
        f"{link['title']} ({link['createdBy']}, {link['createdAt'][:10]})": link["id"]
        for link in links
        if link["state"] == "active"
    }
    if working:
        with st.form("revoke-link"):
            choice = st.selectbox("Revoke a link", list(working))
            if st.form_submit_button("Revoke", icon=":material/link_off:"):
                try:
                    share_client.revoke(working[choice])
                except HubError as exc:
                    st.error(str(exc))
                else:
                    st.toast("Link revoked; its embeds now say so.")
                    st.rerun()
