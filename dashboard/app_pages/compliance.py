"""Compliance: legal holds, requests to erase data subjects' rows with their state, and what the
data lifecycle did (trash purges, retention runs, people's exports and erasures, rows erased
from datasets), for admins and compliance officers.

Reading this page is itself recorded in the audit trail.
"""

import pandas as pd
import streamlit as st

from dashboard import hub_client, trash_client
from dashboard.hub_client import HubError
from dashboard.ui import load, tell

LIFECYCLE = {
    "trash.purge": "purged from the trash",
    "retention.apply": "retention moved to the trash",
    "dataset.erase_request": "erasure of a data subject's rows asked",
    "dataset.erase_rows": "rows erased from a dataset",
    "audit.prune": "retention emptied old audit events",
    "privacy.export": "a person's data exported",
    "privacy.erase": "a person erased",
    "hold.place": "legal hold placed",
    "hold.release": "legal hold released",
}

st.title("Compliance")
st.caption(
    "Legal holds keep what they cover from being purged or erased: from the trash, by "
    "retention, by a person's erasure. Below them, what the data lifecycle has done lately."
)

st.subheader("Legal holds")
show_all = st.toggle("Show released holds too", value=False)
holds = load(trash_client.legal_holds, show_all)
if not holds:
    st.info("No legal holds are in force.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "covers": [f"{h['kind'].lower()} {h['label']}" for h in holds],
                "why": [h["reason"] for h in holds],
                "placed by": [h["placedBy"] for h in holds],
                "placed": [h["placedAt"][:10] for h in holds],
                "state": [
                    f"released by {h['releasedBy']} on {h['releasedAt'][:10]}"
                    if h["releasedAt"]
                    else "in force"
                    for h in holds
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    in_force = {
        f"{h['kind'].lower()} {h['label']} ({h['reason']})": h["id"]
        for h in holds
        if not h["releasedAt"]
    }
    if in_force:
        with st.form("release-hold"):
            chosen = st.selectbox("Release a hold", list(in_force))
            if st.form_submit_button("Release", icon=":material/lock_open:"):
                try:
                    trash_client.release_hold(in_force[chosen])
                except HubError as exc:
                    st.error(str(exc))
                else:
                    tell("Hold released.")
                    st.rerun()

with st.form("place-hold", clear_on_submit=True):
    st.markdown("**Place a hold**")
    left, middle, right = st.columns(3)
    kind = left.selectbox("On a", ["PROJECT", "DATASET", "PERSON"], format_func=str.lower)
    name = middle.text_input("Name", placeholder="project, dataset or account name")
    project = right.text_input("Dataset's project", placeholder="only for a dataset")
    reason = st.text_input("Why", placeholder="e.g. litigation 2026-14, subject request 7")
    if st.form_submit_button("Place hold", type="primary", icon=":material/lock:"):
        try:
            made = trash_client.place_hold(kind, name.strip(), reason, project.strip() or None)
        except HubError as exc:
            st.error(str(exc))
        else:
            tell(f"Hold placed on {made['label']}.")
            st.rerun()

st.subheader("Erasure requests")
requests = load(trash_client.erasure_requests)
if not requests:
    st.info("Nobody has asked to erase a data subject's rows.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "asked (UTC)": [r["requestedAt"][:16].replace("T", " ") for r in requests],
                "dataset": [f"{r['project']}/{r['dataset']}" for r in requests],
                "rows matching": [r["filter"] for r in requests],
                "by": [r["requestedBy"] for r in requests],
                "state": [r["state"].lower() for r in requests],
                "rows erased": [r["total"] if r["state"] == "DONE" else None for r in requests],
                "why it failed": [r["problem"] or "" for r in requests],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if any(r["state"] in ("QUEUED", "RUNNING") for r in requests):
        st.caption("The hub is erasing rows now; reload the page to follow it.")

st.subheader("Lifecycle events")
rows = []
for action, said in LIFECYCLE.items():
    page = load(hub_client.audit_events, {"action": action}, 50)
    if page["__typename"] != "AuditPage":
        st.error(page["message"])
        st.stop()
    for event in page["events"]:
        rows.append(
            {
                "when (UTC)": event["occurredAt"][:19].replace("T", " "),
                "what": said,
                "who": event["actorName"] or event["actorId"],
                "object": f"{event['objectKind']} {event['objectName'] or event['objectId'] or ''}",
                "project": event["projectName"] or "",
                "outcome": event["outcome"],
                "rows": event["rowCount"],
            }
        )
if not rows:
    st.info("Nothing has been purged, erased, exported or held yet.")
else:
    frame = pd.DataFrame(rows).sort_values("when (UTC)", ascending=False)
    st.dataframe(frame, hide_index=True, width="stretch")
