"""The lineage graph of a dataset version: the data runs read, the runs, the data they made."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

COLUMNS = ("data read", "runs", "data produced")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")


def lineage_figure(uses: list[dict[str, Any]], focus: str) -> go.Figure:
    """Three columns: data read (left), runs (middle), data produced (right); ``focus`` (the
    version being looked at, e.g. "line-inspections v2") is drawn larger."""
    runs = {use["run"]["id"]: use["run"] for use in uses}
    read: list[str] = []
    made: list[str] = []
    edges: list[tuple[str, str]] = []
    for run_id, run in runs.items():
        for item in run["datasets"]:
            label = f"{item['dataset']} v{item['version']}"
            if item["direction"] == "input":
                if label not in read:
                    read.append(label)
                edges.append((f"read:{label}", f"run:{run_id}"))
            else:
                if label not in made:
                    made.append(label)
                edges.append((f"run:{run_id}", f"made:{label}"))
    columns = (
        [f"read:{label}" for label in read],
        [f"run:{run_id}" for run_id in runs],
        [f"made:{label}" for label in made],
    )
    where = {
        key: (float(x), (len(keys) - 1) / 2 - i)
        for x, keys in enumerate(columns)
        for i, key in enumerate(keys)
    }

    def name(key: str) -> str:
        kind, _, rest = key.partition(":")
        return str(runs[rest]["name"]) if kind == "run" else rest

    figure = go.Figure()
    for start, end in edges:
        (x0, y0), (x1, y1) = where[start], where[end]
        line = {"color": "#b8c2cc", "width": 1}
        figure.add_trace(
            go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", line=line, hoverinfo="skip")
        )
    for keys, color in zip(columns, COLORS, strict=True):
        if keys:
            figure.add_trace(
                go.Scatter(
                    x=[where[k][0] for k in keys],
                    y=[where[k][1] for k in keys],
                    mode="markers+text",
                    text=[name(k) for k in keys],
                    textposition="top center",
                    marker={"size": [22 if name(k) == focus else 14 for k in keys], "color": color},
                    hoverinfo="text",
                )
            )
    tallest = max(len(keys) for keys in columns)
    figure.update_layout(
        height=max(260, 60 * tallest),
        showlegend=False,
        margin={"t": 30, "b": 10, "l": 10, "r": 10},
        xaxis={"tickvals": [0, 1, 2], "ticktext": list(COLUMNS), "range": [-0.5, 2.5]},
        yaxis={"visible": False},
    )
    return figure
