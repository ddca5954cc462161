"""Resources: the team's GPU cluster for everyone — what is busy now, who used what over
time, the jobs, and a GPU-hours report to download."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import cluster_client, hub_client, share
from dashboard.charts import gpu_history_figure, usage_figure
from dashboard.discussion import reader_zone, when
from dashboard.tables import csv_bytes
from dashboard.ui import load, tell

RANGES = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last year": 365}

st.title("Resources")
state = load(cluster_client.cluster)
if not state["configured"]:
    st.info(
        "This hub watches no GPU cluster. An admin sets SALON_RAY_ADDRESS to a Ray "
        "cluster's dashboard address (salon up starts a local one)."
    )
    st.stop()
if not state["reachable"]:
    last = when(state["lastAnswerAt"]) if state["lastAnswerAt"] else "never"
    st.warning(
        f"The cluster does not answer right now ({state['problem']}). It last answered: "
        f"{last}. The history below is kept.",
        icon=":material/cloud_off:",
    )

busy, free, nodes = st.columns(3)
busy.metric("GPUs busy", f"{state['gpusUsed']:g}", border=True)
free.metric("GPUs free", f"{state['gpus'] - state['gpusUsed']:g}", border=True)
nodes.metric("Nodes up", sum(1 for n in state["nodes"] if n["alive"]), border=True)


def node_label(node: dict[str, Any]) -> str:
    """``head node 127.0.0.1``, ``worker gpu-07 (10.0.0.7)``: its role and Ray's name for it."""
    name = str(node["name"] or node["address"] or node["nodeId"][:8])
    role = {True: "head node ", False: "worker "}.get(node["isHead"], "")
    return role + name + (f" ({node['address']})" if node["address"] not in ("", name) else "")


if state["nodes"]:
    labels = [node_label(n) for n in state["nodes"]]
    figure = go.Figure(
        [
            go.Bar(
                name="busy", y=labels, x=[n["gpusUsed"] for n in state["nodes"]], orientation="h"
            ),
            go.Bar(
                name="free",
                y=labels,
                x=[n["gpus"] - n["gpusUsed"] for n in state["nodes"]],
                orientation="h",
            ),
        ]
    )
    figure.update_layout(
        barmode="stack",
        height=80 + 40 * len(state["nodes"]),
        margin={"t": 10, "b": 30},
        xaxis_title="GPUs",
    )
    st.plotly_chart(figure, key="now")
    reporting = [n for n in state["nodes"] if n["gpuUtilization"] is not None]
    if reporting:
        st.dataframe(
            pd.DataFrame(
                {
                    "node": [node_label(n) for n in reporting],
                    "GPU utilisation %": [round(n["gpuUtilization"]) for n in reporting],
                    "GPU memory used (GiB)": [
                        round((n["gpuMemoryUsedMb"] or 0) / 1024, 1) for n in reporting
                    ],
                    "of (GiB)": [round((n["gpuMemoryTotalMb"] or 0) / 1024, 1) for n in reporting],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(
            "The nodes report no GPU utilisation (their GPUs are logical, or their "
            "drivers do not say)."
        )

if state["reachable"] and state["gpusUsed"]:
    try:
        held = cluster_client.gpu_holders()
    except hub_client.HubError as exc:
        st.caption(f"Who holds the GPUs is not known right now: {exc}")
    else:
        outside = [h for h in held["holders"] if h["job"] is None]
        if outside:
            st.warning(
                f"{held['outsideJobs']:g} GPU(s) are held outside any job (a notebook's "
                "ray.init(), for instance): Salon cannot say whose they are, so they "
                "count for nobody.",
                icon=":material/help:",
            )
        with st.expander(
            f"Who holds the GPUs now ({len(held['holders'])})", expanded=bool(outside)
        ):
            st.dataframe(
                pd.DataFrame(
                    {
                        "what": [f"{h['kind']} {h['name']}" for h in held["holders"]],
                        "GPUs": [h["gpus"] for h in held["holders"]],
                        "job": [
                            f"{h['job']['user']} · {h['job']['project'] or 'no project'}"
                            if h["job"]
                            else "outside any job"
                            for h in held["holders"]
                        ],
                        "Ray job": [h["rayJobId"] or "" for h in held["holders"]],
                        "process": [h["pid"] for h in held["holders"]],
                    }
                ),
                hide_index=True,
                width="stretch",
            )

span = st.selectbox("Period", list(RANGES), index=1)
since = (datetime.now(UTC) - timedelta(days=RANGES[span])).isoformat()
period = "day" if RANGES[span] <= 90 else "week"
share.share_button(
    {"view": "RESOURCE_USAGE", "days": min(RANGES[span], share.MAX_USAGE_DAYS)},
    f"GPU use, {span.lower()}",
    projects=[p["name"] for p in load(hub_client.projects)],
)

st.subheader("Usage over time, by team")
by_team = load(cluster_client.cluster_usage, since, period, "team")
if by_team:
    st.plotly_chart(usage_figure(by_team, period, grouped_as="team"), key="teams")
else:
    st.caption("No GPU time used in this period.")
history = load(cluster_client.cluster_history, since)
if history:
    st.subheader("GPUs in the cluster and in use")
    start = datetime.fromisoformat(since)
    st.plotly_chart(gpu_history_figure(history, since=start), key="history")
    first = datetime.fromisoformat(history[0]["at"])
    if first - start > timedelta(days=1):
        st.caption(f"Salon has watched the cluster since {when(history[0]['at'])}.")

st.subheader("Top consumers")
grouping = st.segmented_control(
    "Group by",
    ["person", "project", "team", "model"],
    default="person",
    help="By model: what the runs behind each model's versions cost",
)
by_person = load(cluster_client.cluster_usage, since, "month", grouping or "person")
if by_person:
    people = (
        pd.DataFrame(by_person)
        .groupby("who")[["gpuHours", "cpuHours", "jobs"]]
        .sum()
        .sort_values("gpuHours", ascending=False)
        .reset_index()
    )
    people.columns = ["who", "GPU-hours", "CPU-hours", "jobs"]
    st.dataframe(people.round(2), hide_index=True, width="stretch")
    report = pd.DataFrame(load(cluster_client.cluster_usage, since, "day", "person"))
    st.download_button(
        "Download the GPU-hours report (CSV)",
        csv_bytes(report),
        file_name=f"gpu-hours-{datetime.now(UTC):%Y%m%d}.csv",
        mime="text/csv",
        icon=":material/download:",
    )

st.subheader("Bookings")
st.caption(
    f"Book GPUs for a time slot so others can plan around you. Times shown in {reader_zone().key}."
)
booked = [b for b in load(cluster_client.bookings) if not b["releasedAt"]]
me = (hub_client.me_or_none() or {}).get("user", {}).get("name")
if booked:
    zone = reader_zone()
    figure = go.Figure(
        [
            go.Bar(
                y=[f"{b['project']} ({b['user']})" for b in booked],
                base=[
                    datetime.fromisoformat(b["startsAt"]).astimezone(zone).isoformat()
                    for b in booked
                ],
                x=[
                    (
                        datetime.fromisoformat(b["endsAt"]) - datetime.fromisoformat(b["startsAt"])
                    ).total_seconds()
                    * 1000
                    for b in booked
                ],
                orientation="h",
                text=[f"{b['gpus']:g} GPUs" for b in booked],
            )
        ]
    )
    figure.update_layout(height=120 + 30 * len(booked), margin={"t": 10}, xaxis_type="date")
    st.plotly_chart(figure, key="calendar")
    st.dataframe(
        pd.DataFrame(
            {
                "project": [b["project"] for b in booked],
                "who": [b["user"] for b in booked],
                "GPUs": [b["gpus"] for b in booked],
                "from": [when(b["startsAt"]) for b in booked],
                "to": [when(b["endsAt"]) for b in booked],
                "note": [b["note"] for b in booked],
                "idle now": ["yes" if b["idle"] else "" for b in booked],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    for b in booked:
        label = f"Release my {b['gpus']:g} GPUs from {when(b['startsAt'])}"
        if b["user"] == me and st.button(label, key=f"release:{b['id']}"):
            cluster_client.release_booking(b["id"])
            st.rerun()
else:
    st.caption("Nothing booked in the next two weeks.")
with st.form("book"):
    left, middle, right = st.columns(3)
    book_project = left.selectbox("Project", [p["name"] for p in load(hub_client.projects)])
    book_gpus = middle.number_input("GPUs to book", min_value=1, max_value=64, value=1)
    note = right.text_input("Note", placeholder="what for")
    tomorrow = datetime.now(reader_zone()).date() + timedelta(days=1)
    columns = st.columns(5)
    first_day = columns[0].date_input("From", value=tomorrow)
    begins = columns[1].time_input("at", value=datetime.strptime("09:00", "%H:%M").time())
    last_day = columns[2].date_input("To", value=tomorrow)
    ends = columns[3].time_input("until", value=datetime.strptime("17:00", "%H:%M").time())
    zones = sorted(available_timezones())
    here = reader_zone().key
    zone_name = columns[4].selectbox(
        "Time zone", zones, index=zones.index(here) if here in zones else zones.index("UTC")
    )
    if st.form_submit_button("Book", icon=":material/event_available:"):
        try:
            cluster_client.book_gpus(
                book_project,
                float(book_gpus),
                f"{first_day}T{begins:%H:%M}",
                f"{last_day}T{ends:%H:%M}",
                zone_name,
                note,
            )
        except hub_client.HubError as exc:
            st.error(str(exc), icon=":material/event_busy:")
        else:
            tell("Booked")
            st.rerun()

st.subheader("Is it fairly shared?")
shares = load(cluster_client.fair_share, "project")
if shares:
    st.dataframe(
        pd.DataFrame(
            {
                "project": [r["who"] for r in shares],
                "GPU-hours (30 days)": [round(r["gpuHours"], 1) for r in shares],
                "share of use": [f"{r['shareOfUse']:.0%}" for r in shares],
                "quota (GPUs)": [
                    r["quotaGpus"] if r["quotaGpus"] is not None else "none" for r in shares
                ],
                "share the quota promises": [
                    f"{r['shareOfQuota']:.0%}" if r["shareOfQuota"] is not None else ""
                    for r in shares
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )

st.subheader("Jobs")
jobs = load(cluster_client.cluster_jobs)
if jobs:
    st.dataframe(
        pd.DataFrame(
            {
                "status": [j["status"].lower() for j in jobs],
                "who": [j["user"] for j in jobs],
                "project": [j["project"] or "" for j in jobs],
                "GPUs": [j["gpus"] for j in jobs],
                "started": [when(j["startedAt"]) for j in jobs],
                "ended": [when(j["endedAt"]) for j in jobs],
                "command": [j["entrypoint"] for j in jobs],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    # Jobs of projects one may not read come without project or person: nobody can stop them.
    running = [j for j in jobs if j["status"] in ("PENDING", "RUNNING") and j["user"]]
    if running:
        with st.form("stop-job"):
            chosen = st.selectbox(
                "Stop a job",
                [j["id"] for j in running],
                format_func=lambda i: next(
                    f"{j['user']}: {j['entrypoint'][:60]}" for j in running if j["id"] == i
                ),
            )
            if st.form_submit_button("Stop it", icon=":material/stop_circle:"):
                try:
                    cluster_client.stop_job(chosen)
                except hub_client.HubError as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    tell("Asked the cluster to stop it.")
                    st.rerun()
else:
    st.caption("No jobs seen yet.")

with (
    st.expander("Run a job on the cluster", icon=":material/rocket_launch:"),
    st.form("submit-job"),
):
    projects = [p["name"] for p in load(hub_client.projects)]
    project = st.selectbox("For project", projects)
    command = st.text_input("Command", placeholder="python train.py --config configs/base.yaml")
    left, right = st.columns(2)
    gpus = left.number_input("GPUs", min_value=0.0, max_value=64.0, value=1.0, step=1.0)
    cpus = right.number_input("CPUs", min_value=0.0, max_value=256.0, value=1.0, step=1.0)
    if st.form_submit_button("Submit", icon=":material/send:"):
        try:
            made = cluster_client.submit_job(project, command, gpus, cpus)
        except hub_client.HubError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.success(f"Submitted as {made['id']}.")
