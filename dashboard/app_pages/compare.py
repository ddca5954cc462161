"""Compare: training curves of chosen runs side by side, and how settings relate to a result."""

import math
from typing import Any

import streamlit as st

from dashboard import hub_client, share
from dashboard.charts import parallel_figure
from dashboard.curve_specs import curves_spec, zoomed_steps
from dashboard.ui import key_metric, load, no_projects, preferred_metrics, query_param_list

BUCKETS = 400
RUN_LIMIT = 300
DEFAULT_RUN_COUNT = 3


def curves(project: str, run_names: dict[str, str], keys: list[str]) -> None:
    """Each metric's curves of the chosen runs, with a step range to look closer."""
    if run_names and keys:
        share.share_button(
            {
                "view": "RUN_COMPARISON",
                "project": project,
                "runIds": list(run_names),
                "metrics": keys,
            },
            f"{', '.join(keys[:3])}: {len(run_names)} runs compared",
        )
    if not run_names or not keys:
        st.info("Pick at least one run and one metric to see curves.")
        return
    run_ids = list(run_names)
    overview = load(hub_client.metric_series, run_ids, keys, BUCKETS)
    last_step = max((s["steps"][-1] for s in overview if s["steps"]), default=0.0)
    full_range = (0, max(1, math.ceil(last_step)))
    range_key = f"steps:{project}:{full_range[1]}"
    st.session_state.setdefault(range_key, full_range)
    shown = st.session_state[range_key]

    # A box dragged across a chart on the last rerun becomes the new step range.
    for key in keys:
        steps = zoomed_steps(st.session_state.get(f"curve:{key}:{shown}"))
        if steps:
            low, high = steps
            shown = (max(0, math.floor(low)), min(full_range[1], math.ceil(high)))
            if shown[1] > shown[0]:
                st.session_state[range_key] = shown
            break
    shown = st.session_state[range_key]

    zoomed = shown != full_range
    series = (
        load(hub_client.metric_series, run_ids, keys, BUCKETS, shown[0], shown[1])
        if zoomed
        else overview
    )
    columns = st.columns(2 if len(keys) > 1 else 1)
    for index, key in enumerate(keys):
        with columns[index % len(columns)]:
            st.vega_lite_chart(
                spec=curves_spec(series, key, run_names, zoomable=True),
                width="stretch",
                key=f"curve:{key}:{shown}",
                on_select="rerun",
            )
    slider, reset = st.columns([5, 1], vertical_alignment="bottom")
    slider.slider(
        "Step range",
        min_value=full_range[0],
        max_value=full_range[1],
        key=range_key,
        help="Narrow the range to fetch the curves again in finer detail.",
    )
    reset.button(
        "Show all steps",
        disabled=not zoomed,
        on_click=lambda: st.session_state.update({range_key: full_range}),
        width="stretch",
    )
    detail = "every point" if not any(s["downsampled"] for s in series) else "summarised"
    st.caption(f"Steps {shown[0]:,} to {shown[1]:,}, {detail} (up to {BUCKETS} points a curve).")


def settings_against_result(
    candidates: list[dict[str, Any]], run_ids: list[str], metric_keys: list[str]
) -> None:
    """The runs' settings and a result as parallel coordinates."""
    st.caption(
        "Each line is a run, passing through the value of each setting and ending at the result. "
        "Drag along an axis to highlight the runs in a range."
    )
    if not metric_keys:
        st.info("This project has no metrics yet.")
        return
    choose, scope = st.columns([1, 2])
    metric = choose.selectbox(
        "Result", metric_keys, index=metric_keys.index(key_metric(metric_keys) or metric_keys[0])
    )
    which = scope.radio(
        "Runs", ["All runs in the project", "Only the runs picked above"], horizontal=True
    )
    runs = [r for r in candidates if which.startswith("All") or r["id"] in run_ids]
    if len(runs) < 2:
        st.info("Pick at least two runs to see how their settings relate to the result.")
    else:
        st.plotly_chart(parallel_figure(runs, metric), config={"displaylogo": False})


st.title("Compare runs")
st.caption(
    "Curves of the runs you pick, drawn together. Each line is a run; the light band around it "
    "shows the highest and lowest values, so short spikes stay visible. Drag across a chart "
    "(or use the step range under the charts) to look closer in full detail."
)

# Which runs: from the link that brought us here, else from the Experiments page.
wanted_runs = query_param_list("runs") or st.session_state.get("selected_runs", [])
projects = [p["name"] for p in load(hub_client.projects)]
if not projects:
    no_projects()
    st.stop()
wanted_project = st.query_params.get("project")
if not wanted_project and wanted_runs:
    first = load(hub_client.run, wanted_runs[0])
    wanted_project = first["project"]["name"] if first else None
wanted_project = wanted_project or st.session_state.get("project")

# The project and the metrics share a row; the runs get one of their own, where the names of
# several runs fit (in a third of the row, a laptop's window showed one and a half).
left, right = st.columns([1, 2])
project = left.selectbox(
    "Project",
    projects,
    index=projects.index(wanted_project) if wanted_project in projects else 0,
)
st.session_state["project"] = project
info = load(hub_client.project, project) or {"metricKeys": []}
candidates = load(hub_client.search_runs, project, first=RUN_LIMIT).runs
names = {r["id"]: r["name"] for r in candidates}
preselected = [r for r in wanted_runs if r in names] or list(names)[:DEFAULT_RUN_COUNT]
run_ids = st.multiselect(
    "Runs",
    list(names),
    default=preselected,
    format_func=lambda run_id: names[run_id],
    key=f"compare-runs:{project}",
    placeholder="Pick runs to compare",
)
st.query_params.update({"project": project, "runs": ",".join(run_ids)})

metric_keys = info["metricKeys"]
keys = right.multiselect(
    "Metrics",
    metric_keys,
    default=preferred_metrics(metric_keys),
    key=f"compare-keys:{project}",
    placeholder="Pick metrics to draw",
)


# Only the open view runs (the parallel coordinates are drawn with WebGL, which took over a
# second of the page's load in a browser without a GPU), and the link says which is open.
curves_tab, settings_tab = st.tabs(
    ["Curves", "Settings against a result"], key="view", bind="query-params"
)
if curves_tab.open:
    with curves_tab:
        curves(project, {run_id: names[run_id] for run_id in run_ids}, keys)
if settings_tab.open:
    with settings_tab:
        settings_against_result(candidates, run_ids, metric_keys)
