"""Static snapshots of a shared view, for wikis that forbid iframes: a PNG of a chart, or a
self-contained HTML page of a chart or a card. Drawn afresh from the view's data on request.

PNGs are drawn by Kaleido in headless Chromium (Debian's ``chromium``; ``BROWSER_PATH`` points
Kaleido at it when it is not on the PATH). HTML pages carry plotly.js inline, so they load
nothing from anywhere.
"""

from __future__ import annotations

import html
import threading
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from hub.errors import InvalidInput, SalonError
from hub.services.share_links import CHART_VIEWS

_drawing = threading.Lock()  # one Chromium at a time on a small machine


class DrawingUnavailable(SalonError):
    """This machine cannot draw PNGs (no Chromium for Kaleido)."""

    status = 503
    code = "snapshot_unavailable"


WIDTH, HEIGHT = 800, 480


def figure(view: str, data: dict[str, Any]) -> go.Figure:
    """The chart of a chart view."""
    fig = go.Figure()
    if view in ("run_comparison", "metric_chart"):
        names = {run["id"]: run["name"] for run in data["runs"]["nodes"]}
        keys = list(dict.fromkeys(series["key"] for series in data["metricSeries"]))
        for series in data["metricSeries"]:
            label = names.get(series["runId"], series["runId"])
            fig.add_trace(go.Scatter(
                x=series["steps"], y=series["values"], mode="lines",
                name=f"{label} · {series['key']}" if len(keys) > 1 else label,
            ))  # fmt: skip
        fig.update_layout(xaxis_title="step", yaxis_title=keys[0] if len(keys) == 1 else "value")
    elif view == "resource_usage":
        points = data["clusterHistory"]
        at = [point["at"] for point in points]
        fig.add_trace(go.Scatter(x=at, y=[p["gpusUsed"] for p in points], name="GPUs in use",
                                 mode="lines", fill="tozeroy"))  # fmt: skip
        fig.add_trace(go.Scatter(x=at, y=[p["gpus"] for p in points], name="GPUs",
                                 mode="lines", line={"dash": "dot"}))  # fmt: skip
        fig.update_layout(yaxis_title="GPUs")
    else:
        raise InvalidInput("Only charts have a PNG snapshot; use the HTML snapshot for cards.")
    fig.update_layout(
        template="plotly_white", margin={"l": 50, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2}, width=WIDTH, height=HEIGHT,
    )  # fmt: skip
    return fig


def png(view: str, data: dict[str, Any]) -> bytes:
    """The chart as a PNG (a few seconds: Kaleido starts Chromium; one at a time)."""
    chart = figure(view, data)
    with _drawing:
        picture: bytes = chart.to_image(format="png", width=WIDTH, height=HEIGHT)
    return picture


def _card(view: str, data: dict[str, Any]) -> str:
    """A card view as sanitised HTML (the hub sanitised every piece of Markdown already)."""
    if view == "model_card":
        return "".join(
            f"<section><h2>{html.escape(s['title'])}</h2>{s['html']}</section>"
            for s in data["modelCard"]["sections"]
        )
    if view == "wiki_page":
        return str(data["page"]["html"])
    if view == "review_summary":
        tally = data["review"]["tally"]
        rows = [("samples", tally["samples"]), ("judged", tally["judged"]),
                ("decided", tally["decided"]), ("correct", tally["correct"])]  # fmt: skip
        if tally["accuracy"] is not None:
            rows.append(("accuracy", f"{tally['accuracy']:.1%} ({tally['low']:.1%} to "
                                     f"{tally['high']:.1%})"))  # fmt: skip
        return _table(rows)
    version = data["dataset"]["version"]
    header = f"<p>{version['rowCount']:,} rows, {len(version['columns'])} columns.</p>"
    return header + _table(
        [(c["name"], f"{c['type']}{' · PII' if c['pii'] else ''}") for c in version["columns"]]
    )


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{cells}</table>"


def page(view: str, title: str, data: dict[str, Any], open_url: str, at: datetime) -> str:
    """A self-contained page of the view (charts carry plotly.js inline)."""
    if view in CHART_VIEWS:
        body = figure(view, data).to_html(full_html=False, include_plotlyjs=True)
    else:
        body = _card(view, data)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:860px;margin:1rem auto;"
        "padding:0 1rem;color:#222}th{text-align:left;padding-right:1rem}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}"
        f"<p><small>Snapshot from Salon, {at:%Y-%m-%d %H:%M} UTC. "
        f"<a href='{html.escape(open_url)}'>Open the live view</a></small></p></body></html>"
    )
