"""Runs' curves as Vega-Lite specs: a run's own on the Run page, several runs' on Compare and
in share links.

Streamlit draws Plotly figures with plotly.js, a 4.7 MB script a browser fetches, compiles and
runs before the first chart: on a first visit of the Run page (after the home page, in headless
Chromium on two busy cores) its first curve appeared after 3.5-4.5 s, against 2.4-2.9 s drawn
with Vega-Lite, Streamlit's own chart library. Streamlit draws a chart of more than 2,000
points a layer on a canvas instead of as SVG, so a comparison of hundreds of runs stays quick.

The specs are written as plain dicts: built with Altair, each chart cost 50-80 ms of Python on
every rerun of the page (building and validating it), which a comment's answer waited for.
"""

from __future__ import annotations

import collections
from typing import Any

from dashboard.charts import run_color

BAND_OPACITY = 0.25  # each bucket's min to max, behind a run's line
THREAD_COLOR = "#f2c94c"  # a step range a discussion thread is about
THREAD_OPACITY = 0.25
ZOOM = "zoom"  # the selection a box dragged across a chart makes (see ``zoomed_steps``)
STEP = {"type": "quantitative", "title": "step", "axis": {"format": ",d"}}
VALUE = {"type": "quantitative", "title": None, "scale": {"zero": False}}
NUMBER = {"type": "quantitative", "format": ".4g"}  # a value in a tooltip
# Runs named under a chart of several, two a row; past LEGEND_LIMIT the legend says how many
# more there are rather than fill the page.
LEGEND = {"orient": "bottom", "title": None, "columns": 2, "labelLimit": 220, "symbolOpacity": 1}
LEGEND_LIMIT = 30


def run_curve(
    series: list[dict[str, Any]],
    key: str,
    run_id: str,
    threads: list[dict[str, Any]],
    *,
    height: int = 140,
) -> dict[str, Any]:
    """The spec of one run's curve of ``key``, with the step ranges that ``threads`` are about
    shaded and their number of comments written in."""
    ranges = [
        {
            "low": thread["anchor"]["steps"][0],
            "high": thread["anchor"]["steps"][1],
            "said": f"💬 {len(thread['comments'])}",
        }
        for thread in threads
        if thread["anchor"]["metric"] == key
    ]
    spec = curves_spec(series, key, {run_id: run_id}, height=height)
    if ranges:
        shaded = {"name": "threads"}
        spec["datasets"]["threads"] = ranges
        spec["layer"][:0] = [
            {
                "data": shaded,
                "mark": {"type": "rect", "color": THREAD_COLOR, "opacity": THREAD_OPACITY},
                "encoding": {"x": {"field": "low", **STEP}, "x2": {"field": "high"}},
            },
            {
                "data": shaded,
                "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3, "dy": 3},
                "encoding": {
                    "x": {"field": "low", **STEP},
                    "y": {"value": 0},
                    "text": {"field": "said", "type": "nominal"},
                },
            },
        ]
    return spec


def curves_spec(
    series: list[dict[str, Any]],
    key: str,
    run_names: dict[str, str],
    *,
    height: int = 260,
    zoomable: bool = False,
    named: bool = False,
) -> dict[str, Any]:
    """The spec of ``key``'s curves for the runs of ``run_names`` (id to name, in the order
    they are coloured): a line a run, and a light band from each bucket's min to max where the
    hub merged steps, so a spike the line smooths over still shows. Several runs get a legend,
    one run too when ``named`` (a chart shown away from its run's page). ``height`` is the
    plot's, without title, axes and legend. ``zoomable``: dragging across the chart selects a
    step range (:func:`zoomed_steps`)."""
    labels = _labels(run_names)
    names = list(labels.values())
    points = []
    for item in series:
        if item["key"] != key or item["runId"] not in labels:
            continue
        name = labels[item["runId"]]
        alone = len(item["steps"]) == 1
        points += [
            {
                "run": name,
                "step": step,
                "value": value,
                "low": low,
                "high": high,
                "merged": item["downsampled"],
                "alone": alone,
            }
            for step, value, low, high in zip(
                item["steps"], item["values"], item["mins"], item["maxs"], strict=True
            )
        ]
    color = {
        "field": "run",
        "type": "nominal",
        "scale": {"domain": names, "range": [run_color(i) for i in range(len(names))]},
        "legend": {**LEGEND, "symbolLimit": LEGEND_LIMIT} if named or len(names) > 1 else None,
    }
    curve = {"name": "curve"}
    layers: list[dict[str, Any]] = []
    if any(point["merged"] for point in points):
        layers.append(
            {
                "data": curve,
                "transform": [{"filter": "datum.merged"}],
                "mark": {"type": "area", "opacity": BAND_OPACITY},
                "encoding": {
                    "x": {"field": "step", **STEP},
                    "y": {"field": "low", **VALUE},
                    "y2": {"field": "high"},
                    "color": color,
                },
            }
        )
    if any(not point["alone"] for point in points):
        layers.append(
            {
                "data": curve,
                "transform": [{"filter": "!datum.alone"}],
                "mark": {"type": "line", "strokeWidth": 1.8},
                "encoding": {
                    "x": {"field": "step", **STEP},
                    "y": {"field": "value", **VALUE},
                    "color": color,
                },
            }
        )
    # Hovering a step shows its value and range: a transparent dot a step carries the tooltip
    # (a run of a single point is drawn as a dot). It is the top layer, so it also takes the
    # drag that zooms.
    tooltip = [
        {"field": "step", "type": "quantitative", "format": ",d"},
        {"field": "value", "title": key, **NUMBER},
        {"field": "low", "title": "range from", **NUMBER},
        {"field": "high", "title": "range to", **NUMBER},
    ]
    dots: dict[str, Any] = {
        "data": curve,
        "mark": {"type": "circle", "size": 60},
        "encoding": {
            "x": {"field": "step", **STEP},
            "y": {"field": "value", **VALUE},
            "color": color,
            "opacity": {"condition": {"test": "datum.alone", "value": 1}, "value": 0},
            "tooltip": ([{"field": "run", "type": "nominal"}] if len(names) > 1 else []) + tooltip,
        },
    }
    if zoomable:
        dots["params"] = [{"name": ZOOM, "select": {"type": "interval", "encodings": ["x"]}}]
    layers.append(dots)
    return {
        "title": {"text": key, "anchor": "start", "fontSize": 15},
        # As wide as its column; ``height`` is the plot's, so a long legend adds to it rather
        # than squeeze the plot (Streamlit fits a layered chart's whole height otherwise).
        "autosize": {"type": "fit-x", "contains": "padding"},
        "height": height,
        "datasets": {"curve": points},
        "layer": layers,
    }


def _labels(run_names: dict[str, str]) -> dict[str, str]:
    """Each run's name in the legend, told apart by the end of its id where runs share a name
    (a chart's lines are grouped by it: two runs called "baseline" would be one line)."""
    seen = collections.Counter(run_names.values())
    return {
        run_id: f"{name} ({run_id[-6:]})" if seen[name] > 1 else name
        for run_id, name in run_names.items()
    }


def zoomed_steps(event: Any) -> tuple[float, float] | None:
    """The step range a box dragged across a :func:`curves_spec` chart selected (its
    ``on_select`` event, from the chart's key in the session), or None."""
    if not event:
        return None
    chosen = (event.get("selection") or {}).get(ZOOM) or {}
    steps = chosen.get("step")
    if not steps or len(steps) != 2:
        return None
    low, high = sorted(steps)
    return float(low), float(high)
