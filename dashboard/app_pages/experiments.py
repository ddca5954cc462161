"""Experiments: every run of one project in a table you can filter, sort and pick runs from."""

import streamlit as st

from dashboard import hub_client, trash_client
from dashboard.hub_client import HubError
from dashboard.tables import runs_column_config, runs_frame, styled
from dashboard.ui import load, no_projects, tell

PAGE_SIZE = 300
NEWEST_FIRST = "newest first"
EXAMPLE_FILTERS = (
    "metrics.`val/acc` > 0.8",
    "params.optimizer = 'adamw' and params.lr < 0.005",
    "status = 'failed' or user = 'ana.silva'",
    "name like 'vit%' and tags.purpose = 'sweep'",
)

st.title("Experiments")
st.caption(
    "All runs of a project, with their settings (params) and latest results (metrics). "
    "Narrow them down with a filter, then pick runs to compare or open."
)

projects = [p["name"] for p in load(hub_client.projects)]
if not projects:
    no_projects()
    st.stop()
wanted = st.query_params.get("project") or st.session_state.get("project")
project = st.columns([1, 2])[0].selectbox(
    "Project", projects, index=projects.index(wanted) if wanted in projects else 0
)
st.session_state["project"] = project
st.query_params["project"] = project
keys = load(hub_client.project, project) or {"metricKeys": [], "paramKeys": []}

left, middle, right = st.columns([4, 2, 2], vertical_alignment="bottom")
run_filter = left.text_input(
    "Filter",
    key=f"filter:{project}",
    placeholder="e.g. metrics.`val/acc` > 0.8 and params.optimizer = 'adamw'",
    help="Compare metrics, params, tags or fields such as status, user, name. "
    "Put names with a slash or dash in backticks: metrics.`val/acc`.",
)
sort_fields = (
    [NEWEST_FIRST]
    + [f"metrics.{k}" for k in keys["metricKeys"]]
    + [f"params.{k}" for k in keys["paramKeys"]]
    + ["name", "user", "started_at"]
)
sort_by = middle.selectbox("Sort by", sort_fields, key=f"sort:{project}")
descending = right.toggle("Highest first", value=True, key=f"desc:{project}")

order_by = None
if sort_by != NEWEST_FIRST:
    prefix, _, name = sort_by.partition(".")
    field = f"{prefix}.`{name}`" if name else prefix
    order_by = [f"{field} {'desc' if descending else 'asc'}"]

search = load(hub_client.search_runs, project, run_filter, order_by, PAGE_SIZE)
if search.problem:
    st.error(search.problem, icon=":material/filter_alt_off:")
    st.markdown("Filters that work here, for example:")
    st.code("\n".join(EXAMPLE_FILTERS), language="sql")
    st.stop()

frame = runs_frame(search.runs)
shown = f"{len(frame)} of {search.total_count}" if search.total_count > len(frame) else len(frame)
st.caption(f"{shown} runs. Tick the boxes at the left of rows to select runs.")
if frame.empty:
    st.info("No run matches this filter.")
    st.stop()

actions = st.container()  # above the table, so the buttons are in view; filled in below
table = st.dataframe(
    styled(frame),
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(frame), 520),
    on_select="rerun",
    selection_mode="multi-row",
    # A new key once runs went to the trash: the old selection named rows that are gone.
    key=f"runs:{project}:{run_filter}:{order_by}:{st.session_state.get('trashed-runs', 0)}",
    column_config=runs_column_config(frame),
)
selected = [str(frame.iloc[row]["id"]) for row in table.selection.rows if row < len(frame)]
st.session_state["selected_runs"] = selected

# One line that wraps where the page is narrow, each button as wide as its words.
buttons = actions.container(horizontal=True)
if buttons.button(
    f"Compare {len(selected)} selected runs" if selected else "Compare selected runs",
    icon=":material/stacked_line_chart:",
    disabled=not selected,
    type="primary",
    width="content",
    key="compare-selected",
):
    st.switch_page(
        "app_pages/compare.py", query_params={"project": project, "runs": ",".join(selected)}
    )
if buttons.button(
    "Open selected run",
    icon=":material/open_in_new:",
    disabled=len(selected) != 1,
    help="Select exactly one run to open it.",
    width="content",
    key="open-selected",
):
    st.switch_page("app_pages/run.py", query_params={"id": selected[0]})
with buttons.popover(
    f"Trash {len(selected)} selected" if selected else "Trash selected runs",
    icon=":material/delete:",
    disabled=not selected,
    width="content",
):
    st.markdown(
        f"Move {len(selected)} run(s) to the trash? They leave lists, charts and searches until "
        "someone restores them (Settings); the hub purges them for good later."
    )
    if st.button("Move to trash", type="primary", key="trash-selected"):
        refused = []
        for run_id in selected:
            try:
                trash_client.move("RUN", run_id)
            except HubError as exc:
                refused.append(str(exc))
        for reason in refused:
            st.error(reason)
        st.session_state["trashed-runs"] = st.session_state.get("trashed-runs", 0) + 1
        if not refused:
            tell(f"Moved {len(selected)} run(s) to the trash.")
            st.rerun()
