"""Settings: your account, your personal API tokens for notebooks and CI, what each project
shares through links, and what is in the trash."""

import pandas as pd
import streamlit as st

from dashboard import hub_client, share_client, trash_client
from dashboard.hub_client import HubError
from dashboard.ui import load, size_text, tell

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
                    tell("Token revoked; it no longer works.")
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
                    tell("Link revoked; its embeds now say so.")
                    st.rerun()

st.subheader("Trash")
st.caption(
    "What was moved to the trash (runs, experiments, projects, datasets, models, pages, tasks, "
    "files), with what it took along. "
    "They are hidden everywhere until restored; the hub purges them for good after "
    "SALON_TRASH_DAYS days, and a project's maintainers may purge one at once."
)
chosen = st.selectbox("Project", ["all my projects", *projects], key="trash-project")
trashed = load(trash_client.entries, None if chosen == "all my projects" else chosen)
if not trashed:
    st.info("The trash is empty.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "what": [entry["kind"].replace("_", " ").lower() for entry in trashed],
                "name": [entry["label"] for entry in trashed],
                "with it": [
                    ", ".join(
                        f"{h['count']} {h['kind'].replace('_', ' ').lower()}"
                        for h in entry["holds"]
                    )
                    for entry in trashed
                ],
                "moved by": [entry["trashedBy"] for entry in trashed],
                "moved": [entry["trashedAt"][:16].replace("T", " ") for entry in trashed],
                "purged after": [entry["purgeAfter"][:10] for entry in trashed],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    named = {
        f"{entry['kind'].replace('_', ' ').lower()} {entry['label']} "
        f"({entry['trashedBy']}, {entry['trashedAt'][:10]})": entry["id"]
        for entry in trashed
    }
    with st.form("trash-entry"):
        picked = st.selectbox("Entry", list(named))
        sure = st.checkbox("Yes, purge it for good (this cannot be undone)")
        restore_column, purge_column = st.columns(2)
        restore = restore_column.form_submit_button("Restore", icon=":material/restore_from_trash:")
        purge = purge_column.form_submit_button("Purge now", icon=":material/delete_forever:")
    if restore:
        try:
            back = trash_client.restore(named[picked])
        except HubError as exc:
            st.error(str(exc))
        else:
            tell(f"Restored {back['label']}.")
            st.rerun()
    if purge and not sure:
        st.warning("Tick the box to confirm: a purge cannot be undone.")
    elif purge:
        try:
            gone = trash_client.purge(named[picked])
        except HubError as exc:
            st.error(str(exc))
        else:
            waiting = " (deleted once the backup under way has copied them)"
            tell(
                f"Purged: {int(gone['points']):,} metric points and {gone['files']} files "
                f"({size_text(gone['fileBytes'])}) removed"
                + (waiting if gone.get("filesWaitForBackup") else "")
                + "."
            )
            st.rerun()

with st.expander("Move an experiment or a whole project to the trash"):
    doomed_project = st.selectbox("Project", projects, key="trash-what-project")
    keys = load(hub_client.project, doomed_project) if doomed_project else None
    if keys:
        whole = f"the whole project {doomed_project}"
        targets = {whole: ("PROJECT", keys["id"])} | {
            f"experiment {e['name']}": ("EXPERIMENT", e["id"]) for e in keys["experiments"]
        }
        with st.form("trash-what"):
            what = st.selectbox("What", list(targets))
            sure = st.checkbox("Yes, hide it and everything in it until someone restores it")
            moved = st.form_submit_button("Move to trash", icon=":material/delete:")
        if moved and not sure:
            st.warning("Tick the box to confirm what goes.")
        elif moved:
            try:
                entry = trash_client.move(*targets[what])
            except HubError as exc:
                st.error(str(exc))
            else:
                tell(f"{entry['label']} is in the trash; restore it above.")
                st.rerun()

st.subheader("Retention")
st.caption(
    "What a project keeps. Once an hour the hub moves runs and dataset versions its policy no "
    "longer keeps to the trash (restorable until purged) and empties older audit events (the "
    "trail still verifies); nothing a legal hold covers. Maintainers set it."
)
kept_project = st.selectbox("Project", projects, key="retention-project")
if kept_project:
    policy = load(trash_client.retention_policy, kept_project)
    if policy is None:
        st.info(f"{kept_project} keeps everything.")
    else:
        upcoming = [r["label"] for r in policy["nextRuns"]] + [
            v["label"] for v in policy["nextVersions"]
        ]
        st.markdown(
            f"Finished runs are kept **{policy['runsDays'] or 'forever'}**"
            f"{' days' if policy['runsDays'] else ''} (runs tagged `{policy['keepTag']}` "
            f"always); each dataset keeps its newest **{policy['versionsKept'] or 'all'}** "
            f"versions; audit events are kept **{policy['auditYears'] or 'forever'}**"
            f"{' years' if policy['auditYears'] else ''}. Set by {policy['updatedBy']}."
        )
        st.caption(
            f"Next to the trash ({len(upcoming)}): {', '.join(upcoming[:20]) or 'nothing'}"
            + ("…" if len(upcoming) > 20 else "")
        )
        if policy["auditYears"]:
            st.caption(
                f"Audit events emptied next: {policy['nextAuditEvents']:,} "
                f"(from before {policy['auditBefore'][:10]})."
            )
    with st.form("retention"):
        limit_runs = st.toggle(
            "Limit how long finished runs are kept", value=bool(policy and policy["runsDays"])
        )
        days = st.number_input("Days", 1, 36_500, value=(policy or {}).get("runsDays") or 90)
        keep_tag = st.text_input(
            "Always keep runs tagged", value=(policy or {}).get("keepTag") or "keep"
        )
        limit_versions = st.toggle(
            "Limit how many versions each dataset keeps",
            value=bool(policy and policy["versionsKept"]),
        )
        versions = st.number_input(
            "Newest versions kept", 1, 10_000, value=(policy or {}).get("versionsKept") or 10
        )
        limit_audit = st.toggle(
            "Limit how long audit events are kept", value=bool(policy and policy["auditYears"])
        )
        years = st.number_input("Years", 1, 100, value=(policy or {}).get("auditYears") or 7)
        if st.form_submit_button("Save policy", icon=":material/save:"):
            try:
                trash_client.set_retention_policy(
                    kept_project,
                    int(days) if limit_runs else None,
                    int(versions) if limit_versions else None,
                    keep_tag,
                    int(years) if limit_audit else None,
                )
            except HubError as exc:
                st.error(str(exc))
            else:
                tell("Retention policy saved.")
                st.rerun()
