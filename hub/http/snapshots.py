"""Static snapshots of a shared view, for wikis that forbid iframes: a PNG of a chart, or a
self-contained HTML page of a chart or a card. Drawn afresh from the view's data on request.

PNGs are drawn by Kaleido in headless Chromium (Debian's ``chromium``; ``BROWSER_PATH`` points
Kaleido at it when it is not on the PATH). HTML pages load plotly.js from the hub (one cached
file for every snapshot), or carry it inline when asked, to be saved and opened anywhere.
"""

from __future__ import annotations

import html
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs_version
from plotly.subplots import make_subplots

from hub.errors import InvalidInput, SalonError
from hub.services.collaboration.share_links import CHART_VIEWS

_drawing = threading.Lock()  # one Chromium at a time on a small machine


class DrawingUnavailable(SalonError):
    """This machine cannot draw PNGs (no Chromium for Kaleido)."""

    status = 503
    code = "snapshot_unavailable"


WIDTH, HEIGHT = 800, 480
PANEL_HEIGHT = 280  # each metric of a comparison has a panel of its own
PALETTE = qualitative.Plotly + qualitative.D3  # the dashboard's colours, run by run
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_JS_VERSION = get_plotlyjs_version()


def figure(view: str, data: dict[str, Any], title: str = "") -> go.Figure:
    """The chart of a chart view, titled: a panel per metric (loss and accuracy never share
    an axis), each run in the same colour in every panel."""
    if view in ("run_comparison", "metric_chart"):
        fig = _curves(data)
    elif view == "resource_usage":
        fig = go.Figure()
        points = data["clusterHistory"]
        at = [point["at"] for point in points]
        fig.add_trace(
            go.Scatter(
                x=at,
                y=[p["gpusUsed"] for p in points],
                name="GPUs in use",
                mode="lines",
                fill="tozeroy",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=at, y=[p["gpus"] for p in points], name="GPUs", mode="lines", line={"dash": "dot"}
            )
        )
        fig.update_layout(yaxis_title="GPUs", height=HEIGHT)
    else:
        raise InvalidInput("Only charts have a PNG snapshot; use the HTML snapshot for cards.")
    fig.update_layout(
        title={"text": html.escape(title), "x": 0.01, "font": {"size": 17}},
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "y": -0.12},
        width=WIDTH,
    )
    return fig


def _curves(data: dict[str, Any]) -> go.Figure:
    names = {run["id"]: run["name"] for run in data["runs"]["nodes"]}
    order = list(names)
    keys = list(dict.fromkeys(series["key"] for series in data["metricSeries"]))
    fig = make_subplots(
        rows=len(keys),
        cols=1,
        shared_xaxes=True,
        subplot_titles=keys,
        vertical_spacing=min(0.12, 0.3 / len(keys)),
    )
    shown: set[str] = set()
    for series in data["metricSeries"]:
        run_id = series["runId"]
        index = order.index(run_id) if run_id in order else len(order)
        fig.add_trace(
            go.Scatter(
                x=series["steps"],
                y=series["values"],
                mode="lines",
                name=names.get(run_id, run_id),
                legendgroup=run_id,
                showlegend=run_id not in shown,
                line={"color": PALETTE[index % len(PALETTE)], "width": 1.8},
            ),
            row=keys.index(series["key"]) + 1,
            col=1,
        )
        shown.add(run_id)
    for row, key in enumerate(keys, start=1):
        fig.update_yaxes(title_text=key, row=row, col=1)
    fig.update_xaxes(title_text="step", row=len(keys), col=1)
    fig.update_layout(height=max(HEIGHT, 120 + PANEL_HEIGHT * len(keys)))
    return fig


def png(view: str, data: dict[str, Any], title: str = "") -> bytes:
    """The chart as a PNG (a few seconds: Kaleido starts Chromium; one at a time)."""
    chart = figure(view, data, title)
    with _drawing:
        try:
            picture: bytes = chart.to_image(format="png", width=WIDTH, height=chart.layout.height)
        except RuntimeError:  # Kaleido's page lost its script context now and then: once more
            picture = chart.to_image(format="png", width=WIDTH, height=chart.layout.height)
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
        rows = [
            ("samples", tally["samples"]),
            ("judged", tally["judged"]),
            ("decided", tally["decided"]),
            ("correct", tally["correct"]),
        ]
        if tally["accuracy"] is not None:
            rows.append(
                ("accuracy", f"{tally['accuracy']:.1%} ({tally['low']:.1%} to {tally['high']:.1%})")
            )
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


def page(
    view: str,
    title: str,
    data: dict[str, Any],
    open_url: str,
    at: datetime,
    plotly_js: str | None = None,
) -> str:
    """A page of the view. Charts load plotly.js from ``plotly_js`` (the hub's copy, which
    browsers cache: the page is a few KB), or carry it inline when None (4.8 MB, for a copy
    that loads nothing from anywhere)."""
    if view in CHART_VIEWS:
        chart = figure(view, data)  # the page's own heading carries the title
        body = chart.to_html(full_html=False, include_plotlyjs=plotly_js or True)
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
