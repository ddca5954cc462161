"""Plotly figures: parallel coordinates, the cluster's GPUs and their use, a dataset version's
change; and the colours runs are drawn in, by every chart (curves are Vega-Lite specs:
``dashboard/curve_specs.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly + qualitative.D3


def run_color(index: int) -> str:
    return str(PALETTE[index % len(PALETTE)])


def _axis(label: str, values: list[Any]) -> dict[str, Any] | None:
    """One parallel-coordinates axis: numbers as they are, words as codes with their labels."""
    present = [v for v in values if v is not None]
    if len(set(present)) < 2:
        return None  # the same for every run: says nothing about the metric
    try:
        numbers = [float(v) if v is not None else None for v in values]
    except (TypeError, ValueError):
        categories = sorted(set(present), key=str)
        codes = {category: code for code, category in enumerate(categories)}
        return {
            "label": label,
            "values": [codes.get(v, -1) for v in values],
            "tickvals": list(codes.values()),
            "ticktext": [str(c) for c in categories],
            "range": [-0.5, len(categories) - 0.5],
        }
    return {"label": label, "values": [n if n is not None else float("nan") for n in numbers]}


def parallel_figure(runs: list[dict[str, Any]], metric: str, *, height: int = 420) -> go.Figure:
    """Each run is a line through its params, ending at (and coloured by) ``metric``."""
    param_keys = sorted({p["key"] for r in runs for p in r["params"]})
    dimensions = []
    for key in param_keys:
        values = [next((p["value"] for p in r["params"] if p["key"] == key), None) for r in runs]
        axis = _axis(key, values)
        if axis is not None:
            dimensions.append(axis)
    scores = [
        next((m["lastValue"] for m in r["metrics"] if m["key"] == metric), float("nan"))
        for r in runs
    ]
    dimensions.append({"label": metric, "values": scores})
    figure = go.Figure(
        go.Parcoords(
            line={
                "color": scores,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": metric}, "thickness": 12},
            },
            dimensions=dimensions,
        )
    )
    figure.update_layout(height=height, margin={"l": 70, "r": 130, "t": 60, "b": 30})
    return figure


def gpu_history_figure(
    history: list[dict[str, Any]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    height: int = 260,
) -> go.Figure:
    """The cluster's GPUs over time, and how many were in use, over the whole period asked
    for (a cluster watched for an hour of a 30-day period is one point at its end, not a chart
    zoomed into milliseconds); points are marked while there are few."""
    at = [point["at"] for point in history]
    mode = "lines+markers" if len(history) < 30 else "lines"
    figure = go.Figure(
        [
            go.Scatter(name="in the cluster", x=at, y=[p["gpus"] for p in history], mode=mode),
            go.Scatter(
                name="in use",
                x=at,
                y=[p["gpusUsed"] for p in history],
                mode=mode,
                fill="tozeroy",
            ),
        ]
    )
    xaxis: dict[str, Any] = {"type": "date", "tickformat": "%d %b\n%H:%M"}
    if since is not None:
        xaxis["range"] = [since.isoformat(), (until or datetime.now(UTC)).isoformat()]
    figure.update_layout(
        height=height,
        margin={"t": 10},
        yaxis={"title": "GPUs", "rangemode": "tozero"},
        xaxis=xaxis,
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def usage_figure(
    rows: list[dict[str, Any]], period: str, *, grouped_as: str, height: int = 320
) -> go.Figure:
    """GPU-hours per ``period`` (day, week or month), stacked by who used them (a legend even
    for one): periods are named on a category axis, not placed on a time axis of one bar."""
    labels = {"day": "%d %b", "week": "week of %d %b", "month": "%B %Y"}
    periods = sorted({row["period"] for row in rows})
    named = {p: datetime.fromisoformat(p).strftime(labels.get(period, "%d %b %Y")) for p in periods}
    who = sorted({row["who"] for row in rows})
    figure = go.Figure(
        [
            go.Bar(
                name=name,
                x=[named[p] for p in periods],
                y=[
                    sum(r["gpuHours"] for r in rows if r["who"] == name and r["period"] == p)
                    for p in periods
                ],
                marker_color=PALETTE[index % len(PALETTE)],
            )
            for index, name in enumerate(who)
        ]
    )
    figure.update_layout(
        barmode="stack",
        height=height,
        margin={"t": 10},
        showlegend=True,
        legend_title_text=grouped_as,
        xaxis={"type": "category", "title": period},
        yaxis_title=f"GPU-hours per {period}",
    )
    return figure


INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
INTEGERS |= {"U" + name for name in INTEGERS}


def is_identifier(shift: dict[str, Any], rows_before: int, rows_after: int) -> bool:
    """A column that names rows rather than measures them: called ``id`` or ``..._id``, or
    whole numbers that (almost: the hub's distinct counts are estimates) never repeat."""
    name = shift["name"].lower()
    if name == "id" or name.endswith("_id"):
        return True
    sides = [(shift["distinctBefore"], rows_before), (shift["distinctAfter"], rows_after)]
    unique = all((distinct or 0) >= 0.97 * rows > 0 for distinct, rows in sides)
    return unique and shift["type"].split("(")[0] in INTEGERS


def mean_change_figure(
    comparison: dict[str, Any], before: int, after: int, *, height: int = 320
) -> go.Figure | None:
    """How much each measured column's average moved, as % of version ``before``'s: columns of
    very different scales side by side, and keys (which only name rows) left out. None when
    no column can be drawn."""
    rows = comparison["rowsBefore"], comparison["rowsAfter"]
    drawn = [
        s
        for s in comparison["shifts"]
        if s["meanBefore"] not in (None, 0)
        and s["meanAfter"] is not None
        and s["name"] != comparison["key"]
        and not is_identifier(s, *rows)
    ]
    if not drawn:
        return None
    drawn.sort(key=lambda s: abs(s["meanAfter"] / s["meanBefore"] - 1))
    change = [100 * (s["meanAfter"] - s["meanBefore"]) / abs(s["meanBefore"]) for s in drawn]
    figure = go.Figure(
        go.Bar(
            x=change,
            y=[s["name"] for s in drawn],
            orientation="h",
            marker_color=["#21a366" if c >= 0 else "#e0393e" for c in change],
            text=[f"{c:+.1f} %" for c in change],
            textposition="auto",
            customdata=[[s["meanBefore"], s["meanAfter"]] for s in drawn],
            hovertemplate="%{y}: average %{customdata[0]:.4g} → %{customdata[1]:.4g}"
            " (%{x:+.1f} %)<extra></extra>",
        )
    )
    figure.update_layout(
        height=max(height, 40 * len(drawn) + 80),
        margin={"t": 30, "l": 10, "r": 10},
        title={"text": f"Change in the average, version {before} → {after}", "font_size": 14},
        xaxis={"title": f"% of version {before}'s average", "ticksuffix": " %"},
        yaxis={"automargin": True},
    )
    return figure
