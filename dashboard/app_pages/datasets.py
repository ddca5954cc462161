"""Datasets: what the team's models learn from, in words a domain expert can follow.

Pick a project and a dataset; see who changed it when, what each column holds (with a
profile), page through its rows, describe columns, and upload a new version.
"""

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import dataset_client, discussion, share
from dashboard.charts import mean_change_figure
from dashboard.lineage_chart import lineage_figure
from dashboard.tables import profile_table
from dashboard.trash_button import trash_popover
from dashboard.ui import load, may, not_allowed, pick_project

PAGE_ROWS = 50

VOTES = {"": None, "👍": 1, "👎": -1}


def annotate_page(project: str, name: str, number: int, shown: dict[str, Any]) -> None:
    """An editable copy of the page: label, note and thumbs per row, saved as annotations."""
    marks = load(dataset_client.row_annotations, project, name, number)
    numbers = shown["rowNumbers"]
    first = shown["columns"][: min(3, len(shown["columns"]))]
    frame = pd.DataFrame([row[: len(first)] for row in shown["rows"]], columns=first)
    frame.insert(0, "row", numbers)
    frame["label"] = [(marks.get(n) or {}).get("label") or "" for n in numbers]
    frame["note"] = [(marks.get(n) or {}).get("note") or "" for n in numbers]
    by_vote = {value: symbol for symbol, value in VOTES.items()}
    frame["vote"] = [by_vote.get((marks.get(n) or {}).get("vote"), "") for n in numbers]
    edited = st.data_editor(
        frame,
        hide_index=True,
        width="stretch",
        disabled=["row", *first],
        column_config={"vote": st.column_config.SelectboxColumn("vote", options=list(VOTES))},
        key=f"annotate-{name}-{number}-{numbers[:1]}",
    )
    st.caption("Your labels are saved with your name and the time; the latest per row counts.")
    left, right = st.columns(2)
    if left.button("Save annotations", icon=":material/save:"):
        changed = [
            {
                "row": int(new["row"]),
                "label": new["label"] or None,
                "note": new["note"] or None,
                "vote": VOTES.get(new["vote"] or ""),
            }
            for (_, old), (_, new) in zip(frame.iterrows(), edited.iterrows(), strict=True)
            if (old["label"], old["note"], old["vote"]) != (new["label"], new["note"], new["vote"])
        ]
        if not changed:
            st.info("Nothing changed on this page.")
        else:
            result = load(dataset_client.annotate, project, name, number, changed)
            if result["__typename"] == "Annotated":
                st.success(f"Saved {result['count']} annotation(s).")
            else:
                st.error(result["message"])
    if not may(project, "editor"):
        right.caption(":material/lock: Editors publish annotations as a new version.")
    elif right.button("Publish annotations as a new version", icon=":material/publish:"):
        result = load(
            dataset_client.publish_annotations,
            project,
            name,
            number,
            f"Annotations of version {number}",
        )
        if result["__typename"] == "DatasetVersion":
            st.success(f"Version {result['number']} made, with label, note and vote columns.")
        else:
            st.error(result["message"])


st.title("Datasets")
project = pick_project()
found = load(dataset_client.datasets, project)
if not found:
    st.info(
        "This project has no datasets yet"
        + ("; upload one below." if may(project, "editor") else ".")
    )
names = [d["name"] for d in found]
name = None
if names:
    chosen = st.query_params.get("dataset")
    name = st.selectbox("Dataset", names, index=names.index(chosen) if chosen in names else 0)
    st.query_params["dataset"] = name

if name is not None:
    data = load(dataset_client.dataset_version, project, name, None)
    if data is None:
        st.warning("This dataset is not there any more, or you may not see it.")
        st.stop()
    versions = data["versions"]
    numbers = [v["number"] for v in versions]
    number = st.selectbox(
        "Version",
        numbers,
        format_func=lambda n: f"version {n}" + (" (latest)" if n == numbers[0] else ""),
    )
    if number != numbers[0]:
        data = load(dataset_client.dataset_version, project, name, number)
        if data is None:
            st.warning("This version is not there any more, or you may not see it.")
            st.stop()
            raise SystemExit  # st.stop() raises; this keeps type checkers honest.
    current = data["version"]
    about = next(v for v in versions if v["number"] == number)
    st.caption(
        f"{current['rowCount']:,} rows · {len(current['columns'])} columns · "
        f"from {about['source']} · by {about['author']} on {about['createdAt'][:10]} — "
        f"{about['message'] or 'no message'}"
    )
    if trash_popover(
        [
            (f"Move version {number} to the trash", "DATASET_VERSION", current["id"]),
            (f"Move dataset {name} to the trash", "DATASET", data["id"]),
        ],
        help="Move this version or dataset to the trash",
    ):
        st.rerun()
    history, profile, rows, changes, graph, describe, talk = st.tabs(
        [
            "History",
            "Columns",
            "Rows",
            "Compare versions",
            "Lineage",
            "Describe columns",
            "Discussion",
        ]
    )

    with history:
        st.dataframe(
            pd.DataFrame(
                {
                    "version": [v["number"] for v in versions],
                    "when": [v["createdAt"][:16].replace("T", " ") for v in versions],
                    "who": [v["author"] for v in versions],
                    "what changed": [v["message"] for v in versions],
                    "rows": [v["rowCount"] for v in versions],
                    "file": [v["source"] for v in versions],
                }
            ),
            hide_index=True,
            width="stretch",
        )

        erasures = data.get("erasures") or []
        if erasures:
            st.markdown("**Rows erased from every version** (data subjects' requests)")
            st.dataframe(
                pd.DataFrame(
                    {
                        "when": [e["requestedAt"][:16].replace("T", " ") for e in erasures],
                        "who": [e["requestedBy"] for e in erasures],
                        "rows matching": [e["filter"] for e in erasures],
                        "state": [e["state"].lower() for e in erasures],
                        "rows erased": [
                            ", ".join(f"v{v['version']}: {v['rows']:,}" for v in e["versions"])
                            or (e["problem"] or "")
                            for e in erasures
                        ],
                    }
                ),
                hide_index=True,
                width="stretch",
            )

        st.markdown(f"**Runs that used version {number}**")
        if not current["runs"]:
            st.caption("No run has recorded using this version yet.")
        for use in current["runs"]:
            verb = "trained on" if use["direction"] == "input" else "produced"
            st.page_link(
                "app_pages/run.py",
                label=f"{use['run']['name']} {verb} it",
                icon=":material/description:",
                query_params={"id": use["run"]["id"]},
            )

    with profile:
        shared = {
            "view": "DATASET_PROFILE",
            "project": project,
            "dataset": name,
            "datasetVersion": number,
        }
        share.share_button(shared, f"{name} version {number}: profile")
        columns = current["columns"]
        table = profile_table(columns, current["rowCount"])
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption("🔒 personal data: shown as ••• unless you have the PII right on this project.")
        pick = st.selectbox("Look closer at", [c["name"] for c in columns])
        stats = next(c for c in columns if c["name"] == pick)["profile"]
        counted = "rows"
        if "sample_rows" in stats:  # a big version's distributions come from a fixed sample
            counted = f"rows in a sample of {stats['sample_rows']:,}"
        if "histogram" in stats:
            edges, counts = stats["histogram"]["edges"], stats["histogram"]["counts"]
            labels = [f"{edges[i]:.3g} to {edges[i + 1]:.3g}" for i in range(len(counts))]
            figure = go.Figure(go.Bar(x=labels, y=counts))
            figure.update_layout(
                height=300, margin={"t": 20}, xaxis_title=pick, yaxis_title=counted
            )
            st.plotly_chart(figure, width="stretch")
        elif stats.get("top"):
            top = stats["top"]
            figure = go.Figure(
                go.Bar(x=[t["count"] for t in top], y=[t["value"] for t in top], orientation="h")
            )
            figure.update_layout(height=300, margin={"t": 20}, xaxis_title=counted)
            st.plotly_chart(figure, width="stretch")
        else:
            st.caption("No distribution to show for this column.")

    with rows:
        condition = st.text_input(
            "Only rows where",
            placeholder="e.g. defect != 'none' and surface_temp_c > 45",
            help="Compare columns with =, !=, <, >, in (…), like '%…%', is null; combine with "
            "and, or, not. Put odd column names in `backticks`.",
        )
        left, middle, right = st.columns([3, 2, 2])
        sort = left.selectbox("Sort by", ["(as stored)", *[c["name"] for c in current["columns"]]])
        descending = middle.toggle("Largest first")
        pages = max(1, -(-current["rowCount"] // PAGE_ROWS))
        page = right.number_input("Page", min_value=1, max_value=pages, value=1)
        order = None if sort == "(as stored)" else [f"{sort} {'desc' if descending else 'asc'}"]
        shown = load(
            dataset_client.dataset_rows,
            project,
            name,
            number,
            (page - 1) * PAGE_ROWS,
            PAGE_ROWS,
            order,
            condition,
        )
        if shown["__typename"] != "DatasetRows":
            st.warning(shown["message"], icon=":material/filter_alt_off:")
        else:
            st.dataframe(
                pd.DataFrame(shown["rows"], columns=shown["columns"]),
                hide_index=True,
                width="stretch",
            )
            matching = f"{shown['total']:,} rows" + (" match" if condition.strip() else "")
            st.caption(f"Page {page} of {pages} ({matching}).")
            if shown["masked"]:
                st.caption(f"Masked as personal data: {', '.join(shown['masked'])}.")
            with st.expander("Label or correct these rows", icon=":material/edit_note:"):
                annotate_page(project, name, number, shown)

    with changes:
        if len(numbers) < 2:
            st.info("There is only one version so far.")
        else:
            left, middle, right = st.columns(3)
            before = left.selectbox("From version", numbers[1:] + numbers[:1], key="before")
            after = middle.selectbox("To version", numbers, key="after")
            key_column = right.selectbox(
                "Match rows by", ["(do not match rows)", *[c["name"] for c in current["columns"]]]
            )
            key = None if key_column == "(do not match rows)" else key_column
            result = load(dataset_client.compare_versions, project, name, before, after, key)
            if result["__typename"] != "DatasetComparison":
                st.warning(result["message"])
            else:
                st.markdown("\n".join(f"- {line}" for line in result["summary"]))
                figure = mean_change_figure(result, before, after)
                if figure is not None:
                    st.plotly_chart(figure, width="stretch")
                    st.caption("Keys and identifiers are left out; hover a bar for both averages.")

    with graph:
        uses = load(dataset_client.lineage, project, name, number)
        if not uses:
            st.info(f"No run has recorded using version {number} yet.")
        else:
            st.caption("What the runs that used this version read (left) and produced (right).")
            st.plotly_chart(lineage_figure(uses, f"{name} v{number}"), width="stretch")

    with describe, st.form("describe"):
        column = st.selectbox("Column", [c["name"] for c in current["columns"]])
        old = next(c for c in current["columns"] if c["name"] == column)["description"]
        text = st.text_area("What it holds, in plain words", value=old, max_chars=2000)
        if st.form_submit_button("Save description"):
            result = load(dataset_client.describe_column, project, name, column, text)
            if result["__typename"] == "DatasetColumn":
                st.success(f"Saved the description of {column}.")
            else:
                st.error(result["message"])

    with talk:
        # A thread can be about the whole version, the rows matching the Rows tab's filter, or
        # one column.
        anchors: list[tuple[str, dict[str, Any] | None]] = [
            (f"The whole of version {number}", None)
        ]
        if condition.strip():
            anchors.append((f"Rows where {condition.strip()}", {"filter": condition.strip()}))
        anchors += [(f"Column {c['name']}", {"column": c["name"]}) for c in current["columns"]]
        discussion.show(
            "DATASET_VERSION",
            current["id"],
            anchors=anchors,
            title=f"Discussion of version {number}",
        )

st.subheader("Upload a version")
if not may(project, "editor"):
    not_allowed(project, "Uploading a version", "editor")
    st.stop()
with st.form("upload", clear_on_submit=True):
    target = st.text_input("Dataset name", value=name or "", max_chars=200)
    upload = st.file_uploader("CSV or Parquet file", type=["csv", "parquet"])
    message = st.text_input("What changed", placeholder="e.g. April export, cam-3 re-aimed")
    if st.form_submit_button("Upload", type="primary"):
        if upload is None or not target.strip():
            st.error("Choose a file and name the dataset.")
        else:
            with st.spinner("Reading and profiling the file…"):
                said = load(
                    dataset_client.upload_dataset,
                    project,
                    target.strip(),
                    upload.name,
                    upload.getvalue(),
                    message,
                )
            st.success(said)
