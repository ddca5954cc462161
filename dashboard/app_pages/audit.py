"""Audit trail: who accessed or changed what, and when (admins and compliance officers).

Reading this page is itself recorded in the trail.
"""

import datetime as dt
import functools

import pandas as pd
import streamlit as st

from dashboard import hub_client
from dashboard.ui import load

st.title("Audit trail")
st.caption(
    "Every read of project data and every change, with who did it, from where and whether it "
    "was allowed. The trail keeps account and object ids; people, projects and objects are "
    "shown by today's names, the ids beside them. Looking at this page is recorded too."
)

people = {u["id"]: u["name"] for u in load(hub_client.users)}
projects = {p["id"]: p["name"] for p in load(hub_client.audit_projects)}

with st.form("audit-filter"):
    left, middle, right = st.columns(3)
    person = left.selectbox("Person", ["anyone", *sorted(people.values())])
    project = middle.selectbox("Project", ["any", *sorted(projects.values())])
    outcome = right.selectbox("Outcome", ["any", "allow", "deny", "error"])
    left, right = st.columns(2)
    since = left.date_input("From", dt.date.today() - dt.timedelta(days=7))
    until = right.date_input("To (inclusive)", dt.date.today())
    action = st.text_input("Action", placeholder="e.g. runs.search, run.create, token.revoke")
    st.form_submit_button("Show", type="primary")

by_name = {name: user_id for user_id, name in people.items()}
by_project = {name: project_id for project_id, name in projects.items()}
filters = {
    "actorId": by_name.get(person),
    "projectId": by_project.get(project),
    "outcome": None if outcome == "any" else outcome,
    "action": action.strip() or None,
    "since": f"{since}T00:00:00+00:00",
    "until": f"{until + dt.timedelta(days=1)}T00:00:00+00:00",
}
page = load(hub_client.audit_events, filters)
if page["__typename"] != "AuditPage":
    st.error(page["message"])
    st.stop()
events = page["events"]
if not events:
    st.info("Nothing recorded for these filters.")
    st.stop()
frame = pd.DataFrame(
    {
        "when (UTC)": [e["occurredAt"][:19].replace("T", " ") for e in events],
        "who": [e["actorName"] or e["actorId"] for e in events],
        "how": [e["authMethod"] for e in events],
        "from": [e["address"] or "" for e in events],
        "action": [e["action"] for e in events],
        "object": [
            f"{e['objectKind']} {e['objectName'] or e['objectId'] or ''}".strip() for e in events
        ],
        "project": [e["projectName"] or e["projectId"] or "" for e in events],
        "outcome": [e["outcome"] for e in events],
        "rows": [e["rowCount"] for e in events],
        "object id": [e["objectId"] or "" for e in events],
        "project id": [e["projectId"] or "" for e in events],
        "account id": [e["actorId"] for e in events],
    }
)
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={
        "object": st.column_config.TextColumn(help="By today's name; its id is further right."),
        "project": st.column_config.TextColumn(help="By today's name; its id is further right."),
    },
)
if page["nextBefore"] is not None:
    st.caption(f"Showing the newest {len(events)}; narrow the filters or export to see all.")

export_filters = {
    "actor_id": filters["actorId"],
    "project_id": filters["projectId"],
    "outcome": filters["outcome"],
    "action": filters["action"],
    "since": filters["since"],
    "until": filters["until"],
}
token = hub_client.current_token()
left, right = st.columns(2)
for column, kind in ((left, "csv"), (right, "parquet")):
    column.download_button(
        f"Export as {kind.upper()}",
        data=functools.partial(hub_client.audit_export, export_filters, kind, token),
        file_name=f"salon-audit.{kind}",
        on_click="ignore",  # a rerun would drop the file before the browser fetches it
        icon=":material/download:",
    )
