"""Run: everything about one run — how it went, its settings, notes, environment and curves."""

import functools
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cluster_client, discussion, hub_client, model_client, share, trash_client
from dashboard.curve_specs import run_curve
from dashboard.hub_client import HubError
from dashboard.ui import (
    code_span,
    duration_text,
    load,
    no_projects,
    number_text,
    size_text,
    status_badge,
    status_label,
    tell,
)

BUCKETS = 300
CHARTS_PER_ROW = 3

run_id = st.query_params.get("id")
if not run_id:
    st.title("Run")
    st.caption("Everything about one run. Pick a project and one of its runs.")
    projects = [p["name"] for p in load(hub_client.projects)]
    if not projects:
        no_projects()
        st.stop()
    wanted = st.session_state.get("project")
    left, right = st.columns([1, 3])
    project = left.selectbox(
        "Project", projects, index=projects.index(wanted) if wanted in projects else 0
    )
    runs = load(hub_client.search_runs, project, first=300).runs
    if not runs:
        st.info("This project has no runs yet.")
        st.stop()
    labels = {r["id"]: f"{r['name']}  ·  {status_label(r['status'])}  ·  {r['user']}" for r in runs}
    picked = right.selectbox(
        "Run",
        list(labels),
        format_func=lambda run: labels[run],
        index=None,
        placeholder="Choose a run",
    )
    if picked is None:
        st.stop()
    st.query_params["id"] = run_id = picked

run = load(hub_client.run, run_id)
moved = load(trash_client.entry_of, "RUN", run_id) if run is None else None
if moved is not None:  # a link to a run in the trash, or this page a moment after moving it
    st.title("Run")
    st.success(
        f"Run {moved['label']} is in the trash (moved by {moved['trashedBy']} on "
        f"{moved['trashedAt'][:10]}): hidden everywhere until restored, and purged for good on "
        f"{moved['purgeAfter'][:10]}. Settings lists the trash.",
        icon=":material/delete:",
    )
    if st.button("Restore it", icon=":material/restore_from_trash:"):
        try:
            trash_client.restore(moved["id"])
        except HubError as exc:
            st.error(str(exc))
        else:
            st.rerun()
    st.page_link("app_pages/experiments.py", label="Go to Experiments", icon=":material/science:")
    st.stop()
if run is None:
    st.title("Run")
    st.warning(
        f"There is no run with id {run_id}, or you may not see it. "
        "Check the link, or pick a run on the Experiments page."
    )
    st.page_link("app_pages/experiments.py", label="Go to Experiments", icon=":material/science:")
    st.stop()

# Header: name, how it went, who ran it and for how long.
st.title(run["name"])
st.caption(f"{run['project']['name']} / {run['experiment']['name']}  ·  run id `{run['id']}`")
experiment = run["experiment"]  # what it tries to find out, and its tags (MLflow's too)
about = [experiment["description"]] if experiment["description"] else []
about += [f"`{t['key']}={t['value']}`" for t in experiment["tags"]]
if about:
    st.caption(f"Experiment {experiment['name']}: " + "  ".join(about))
# One line that wraps where the page is narrow, each item as wide as its text.
badges = st.container(horizontal=True, vertical_alignment="center", gap="small")
with badges:
    status_badge(run["status"])
    st.markdown(f":material/person: **{run['user']}**", width="content")
    st.markdown(f":material/timer: {duration_text(run['durationSeconds'])}", width="content")
    started = pd.Timestamp(run["startedAt"]).strftime("%Y-%m-%d %H:%M UTC")
    st.markdown(f":material/calendar_today: started {started}", width="content")
    comparing = st.button(
        "Compare",
        icon=":material/stacked_line_chart:",
        help="Draw this run's curves next to other runs of the project.",
    )
    trashing = st.popover("Trash", icon=":material/delete:", help="Move this run to the trash")
    renaming = st.popover("Rename", icon=":material/edit:", help="Give this run another name")
if comparing:
    st.switch_page(
        "app_pages/compare.py",
        query_params={"project": run["project"]["name"], "runs": run["id"]},
    )

with trashing:
    st.markdown(
        "Move this run to the trash? It disappears from lists, charts and searches until "
        "someone restores it from the trash (Settings); the hub purges it for good later."
    )
    if st.button("Move to trash", type="primary", key="trash-run"):
        try:
            trash_client.move("RUN", run["id"])
        except HubError as exc:
            st.error(str(exc))
        else:
            st.rerun()

with renaming, st.form("rename-run", border=False):
    name = st.text_input("New name", value=run["name"], max_chars=200)
    if st.form_submit_button("Rename", type="primary"):
        try:
            hub_client.rename_run(run["id"], name.strip())
        except HubError as exc:
            st.error(str(exc))
        else:
            st.rerun()

if run["metrics"]:
    with st.container(horizontal=True):
        for metric in run["metrics"][:6]:
            st.metric(metric["key"], number_text(metric["lastValue"]), border=True)

st.subheader("Curves")
keys = [m["key"] for m in run["metrics"]]
if keys:
    shown_keys = keys[: share.MAX_METRICS]
    share.share_button(
        {
            "view": "METRIC_CHART",
            "project": run["project"]["name"],
            "runIds": [run["id"]],
            "metrics": shown_keys,
        },
        f"{run['name']}: {', '.join(shown_keys[:3])}",
    )
series = load(hub_client.metric_series, [run["id"]], keys, BUCKETS) if keys else []
if not keys:
    st.info("This run has not logged any metrics yet.")
# Threads about a step range of a curve are shaded on it, so the discussion is read first;
# the curves come right after the headline numbers, drawn as soon as the page has them.
discussed = discussion.read("RUN", run["id"])
marked = [t for t in (discussed or {}).get("threads", []) if (t["anchor"] or {}).get("steps")]
for start in range(0, len(keys), CHARTS_PER_ROW):
    row = st.columns(CHARTS_PER_ROW)
    for column, key in zip(row, keys[start : start + CHARTS_PER_ROW], strict=False):
        column.vega_lite_chart(
            spec=run_curve(series, key, run["id"], marked), width="stretch", key=f"run-curve:{key}"
        )

settings, labels_column, notes_column = st.columns([2, 1, 2])
with settings:
    st.subheader("Settings (params)")
    st.dataframe(
        pd.DataFrame(run["params"], columns=["key", "value"]), hide_index=True, width="stretch"
    )
with labels_column:
    st.subheader("Tags")
    st.dataframe(
        pd.DataFrame(run["tags"], columns=["key", "value"]), hide_index=True, width="stretch"
    )
with notes_column:
    st.subheader("Notes")
    with st.container(border=True):
        st.markdown(run["notes"] or "_No notes yet._")

st.subheader("Data")
used = run["datasets"]
if not used:
    st.caption("No datasets recorded for this run (`run.use_dataset(...)` in the training script).")
for item in used:
    verb = "read" if item["direction"] == "input" else "produced"
    st.page_link(
        "app_pages/datasets.py",
        label=f"{verb} {item['dataset']} version {item['version']} ({item['project']})",
        icon=":material/table:",
        query_params={"project": item["project"], "dataset": item["dataset"]},
    )

files = run["artifacts"]
if files:
    st.subheader("Files")
    st.dataframe(
        pd.DataFrame([(f["path"], size_text(f["size"])) for f in files], columns=["file", "size"]),
        hide_index=True,
        width="stretch",
    )
    chosen = st.selectbox("File", [f["path"] for f in files], key="artifact")
    artifact: dict[str, Any] = next(f for f in files if f["path"] == chosen)
    token = hub_client.current_token()
    download, discard = st.columns([3, 1])
    download.download_button(
        f"Download {chosen.rsplit('/', 1)[-1]}",
        data=functools.partial(hub_client.artifact, artifact["downloadPath"], token),
        file_name=chosen.rsplit("/", 1)[-1],
        on_click="ignore",  # a rerun would drop the file before the browser fetches it
        icon=":material/download:",
    )
    with discard.popover("Trash file", icon=":material/delete:"):
        st.markdown(
            f"Move `{chosen}` to the trash? The run keeps its other files; restore it from "
            "the trash (Settings) until the hub purges it."
        )
        if st.button("Move file to trash", type="primary", key="trash-artifact"):
            try:
                trash_client.move("ARTIFACT", f"{run['id']}/{chosen}")
            except HubError as exc:
                st.error(str(exc))
            else:
                tell(f"Moved {chosen} to the trash.")
                st.rerun()

for registered in load(model_client.of_run, run["id"]):
    where = f" ({', '.join(registered['aliases'])})" if registered["aliases"] else ""
    st.page_link(
        "app_pages/models.py",
        icon=":material/model_training:",
        label=f"registered as {registered['model']} version {registered['number']}{where}",
        query_params={
            "project": registered["project"],
            "model": registered["model"],
            "version": str(registered["number"]),
        },
    )

for shared in load(hub_client.run_notebooks, run["id"]):
    st.page_link(
        "app_pages/wiki.py",
        label=f"Notebook: {shared['title']}",
        icon=":material/book:",
        query_params={"project": shared["project"], "slug": shared["slug"]},
    )

jobs = load(cluster_client.run_jobs, run["id"])
if jobs:
    st.subheader("Cluster jobs")
    for job in jobs:
        ended = f" to {discussion.when(job['endedAt'])}" if job["endedAt"] else ""
        logs = st.expander(
            f"{job['status'].lower()} · {job['gpus']:g} GPUs · {job['user']} · "
            f"{discussion.when(job['startedAt'])}{ended}",
            key=f"job-logs:{job['id']}",
            on_change="rerun",
        )
        if logs.open:  # read from the hub only when someone opens them
            try:
                logs.code(
                    cluster_client.job_logs(job["id"])[-20_000:] or "(no output yet)",
                    language="text",
                )
            except hub_client.HubError as exc:
                logs.caption(f"The logs cannot be read now: {exc}")

st.subheader("Environment")
st.caption("What you need to run it again.")
environment = run["environment"]
commit = environment["gitCommit"] or "unknown"
dirty = environment["gitDirty"]
code, machine = st.columns(2)
with code:
    st.markdown(f"**Git commit** `{commit}`")
    if dirty:
        st.warning("The code had uncommitted changes when the run started.", icon=":material/edit:")
    elif dirty is False:
        st.caption(":material/check: No uncommitted changes.")
    command = environment["command"] or "unknown"
    st.markdown(f"**Command** {code_span(command)}")
    # As inline code the page draws it at once: st.code's highlighter took 0.6 s of a first
    # visit. Its copy button is a click away, drawn when asked for.
    copying = st.popover(
        "Copy the command",
        icon=":material/content_copy:",
        type="tertiary",
        key=f"command:{run['id']}",
        on_change="rerun",
    )
    if copying.open:
        copying.code(command, language="bash", wrap_lines=True)
with machine:
    st.markdown(f"**Python** {environment['pythonVersion'] or 'unknown'}")
    st.markdown(f"**Machine** {environment['host'] or 'unknown'}")
    packages = st.expander(
        f"Installed packages ({len(environment['packages'])})",
        key=f"packages:{run['id']}",
        on_change="rerun",
    )
    if packages.open:  # a long list, highlighted as code: drawn only when asked for
        packages.code("\n".join(environment["packages"]) or "none recorded", language="text")

# Comments can point at a step range of one curve; those ranges are shaded on the chart. The
# range is chosen (and offered under "About") once someone opens this: drawn on every visit,
# its choices cost the first visit 0.2 s.
anchors: list[tuple[str, dict[str, Any] | None]] = [("The whole run", None)]
if keys:
    part = st.expander(
        "Comment on part of a curve",
        icon=":material/insights:",
        key=f"curve-part:{run['id']}",
        on_change="rerun",
    )
    if part.open:
        with part:
            left, right = st.columns([1, 3])
            metric = left.selectbox("Curve", keys, key="anchor-metric")
            steps = [s for item in series if item["key"] == metric for s in item["steps"]] or [0]
            low, high = int(min(steps)), int(max(steps))
            chosen = right.slider(
                "Steps", low, max(high, low + 1), (low, max(high, low + 1)), key="anchor-steps"
            )
            st.caption("Then write your comment below and choose this part under “About”.")
        part_label = f"{metric}, steps {chosen[0]:,} to {chosen[1]:,}"
        anchors.append((part_label, {"metric": metric, "steps": list(chosen)}))
discussion.show("RUN", run["id"], anchors=anchors, found=discussed)
