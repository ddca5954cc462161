"""Home: the team's projects and the latest runs across all of them."""

import streamlit as st

from dashboard import hub_client
from dashboard.tables import recent_runs_frame, styled
from dashboard.ui import load, no_projects

RECENT_RUNS = 15
CARDS_PER_ROW = 3

st.title("Salon")
st.caption("Your team's projects and the runs started most recently.")

st.subheader("Projects")
projects = load(hub_client.projects)
if not projects:
    no_projects()
for start in range(0, len(projects), CARDS_PER_ROW):
    for column, project in zip(
        st.columns(CARDS_PER_ROW), projects[start : start + CARDS_PER_ROW], strict=False
    ):
        with column.container(border=True):
            st.markdown(f"#### {project['name']}")
            st.write(project["description"] or "_No description yet._")
            st.markdown(f"**{project['runCount']}** runs")
            st.page_link(
                "app_pages/experiments.py",
                label="See its runs",
                icon=":material/arrow_forward:",
                query_params={"project": project["name"]},
            )

st.subheader("Recent runs")
st.caption("Tick the box at the left of a run to open it.")
recent = load(hub_client.search_runs, first=RECENT_RUNS)
frame = recent_runs_frame(recent.runs)
if frame.empty:
    st.info("No runs yet.")
else:
    picked = st.dataframe(
        styled(frame),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="recent_runs",
        column_config={
            "id": None,
            "started": st.column_config.DatetimeColumn("started", format="distance"),
        },
    )
    if picked.selection.rows:
        run_id = frame.iloc[picked.selection.rows[0]]["id"]
        st.switch_page("app_pages/run.py", query_params={"id": run_id})
