"""A run's curves as small Vega-Lite charts, for the Run page.

The Run page draws every metric of a run at once. Streamlit draws Plotly figures with
plotly.js, a 4.7 MB script a browser fetches, compiles and runs before the first chart: on a
first visit of the page (after the home page, in headless Chromium on two busy cores) its first
curve appeared after 3.5-4.5 s, against 2.4-2.9 s drawn with Vega-Lite, Streamlit's own chart
library. Compare, share links and the other pages keep Plotly (zooming into detail, parallel
coordinates).

The specs are written as plain dicts: built with Altair, each chart cost 50-80 ms of Python on
every rerun of the page (building and validating it), which a comment's answer waited for.
"""

from __future__ import annotations

from typing import Any

from dashboard.charts import BAND_OPACITY, run_color

THREAD_COLOR = "#f2c94c"  # a step range a discussion thread is about
THREAD_OPACITY = 0.25
STEP = {"type": "quantitative", "title": "step", "axis": {"format": ",d"}}
VALUE = {"type": "quantitative", "title": None, "scale": {"zero": False}}
NUMBER = {"type": "quantitative", "format": ".4g"}  # a value in a tooltip


def run_curve(
    series: list[dict[str, Any]],
    key: str,
    run_id: str,
    threads: list[dict[str, Any]],
    *,
    height: int = 200,
) -> dict[str, Any]:
    """The Vega-Lite spec of the run's curve of ``key``: its line, a light band from each
    bucket's min to max when the hub merged steps (a spike the line smooths over still shows),
    and the step ranges that ``threads`` are about shaded, with their number of comments."""
    color = run_color(0)
    mine = [item for item in series if item["key"] == key and item["runId"] == run_id]
    points = [
        {"step": step, "value": value, "low": low, "high": high}
        for item in mine
        for step, value, low, high in zip(
            item["steps"], item["values"], item["mins"], item["maxs"], strict=True
        )
    ]
    ranges = [
        {
            "low": thread["anchor"]["steps"][0],
            "high": thread["anchor"]["steps"][1],
            "said": f"💬 {len(thread['comments'])}",
        }
        for thread in threads
        if thread["anchor"]["metric"] == key
    ]
    curve = {"name": "curve"}
    layers: list[dict[str, Any]] = []
    if ranges:
        shaded = {"name": "threads"}
        layers += [
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
    if any(item["downsampled"] for item in mine):
        layers.append(
            {
                "data": curve,
                "mark": {"type": "area", "color": color, "opacity": BAND_OPACITY},
                "encoding": {
                    "x": {"field": "step", **STEP},
                    "y": {"field": "low", **VALUE},
                    "y2": {"field": "high"},
                },
            }
        )
    if len(points) > 1:
        layers.append(
            {
                "data": curve,
                "mark": {"type": "line", "color": color, "strokeWidth": 1.8},
                "encoding": {"x": {"field": "step", **STEP}, "y": {"field": "value", **VALUE}},
            }
        )
    # Hovering a step shows its value and range: a transparent dot a step carries the tooltip
    # (a single point is drawn as a dot).
    layers.append(
        {
            "data": curve,
            "mark": {
                "type": "circle",
                "color": color,
                "size": 60,
                "opacity": 1 if len(points) == 1 else 0,
            },
            "encoding": {
                "x": {"field": "step", **STEP},
                "y": {"field": "value", **VALUE},
                "tooltip": [
                    {"field": "step", "type": "quantitative", "format": ",d"},
                    {"field": "value", "title": key, **NUMBER},
                    {"field": "low", "title": "range from", **NUMBER},
                    {"field": "high", "title": "range to", **NUMBER},
                ],
            },
        }
    )
    return {
        "title": {"text": key, "anchor": "start", "fontSize": 15},
        "height": height,
        "datasets": {"curve": points, **({"threads": ranges} if ranges else {})},
        "layer": layers,
    }
