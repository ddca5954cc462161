"""A run's curves as small Vega-Lite charts (Altair), for the Run page.

The Run page draws every metric of a run at once. Streamlit draws Plotly figures with
plotly.js, a 4.7 MB script a browser fetches, compiles and runs before the first chart: on a
first visit of the page (after the home page, in headless Chromium on two busy cores) its first
curve appeared after 4.2-4.7 s, against 1.8-3.3 s drawn with Vega-Lite, Streamlit's own chart
library. Compare, share links and the other pages keep Plotly (zooming into detail, parallel
coordinates).
"""

from __future__ import annotations

from typing import Any

import altair as alt

from dashboard.charts import BAND_OPACITY, run_color

THREAD_COLOR = "#f2c94c"  # a step range a discussion thread is about
THREAD_OPACITY = 0.25


def run_curve(
    series: list[dict[str, Any]],
    key: str,
    run_id: str,
    threads: list[dict[str, Any]],
    *,
    height: int = 200,
) -> alt.LayerChart:
    """The run's curve of ``key``: its line, a light band from each bucket's min to max when
    the hub merged steps (a spike the line smooths over still shows), and the step ranges
    that ``threads`` are about shaded, with their number of comments."""
    color = run_color(0)
    points = [
        {"step": step, "value": value, "low": low, "high": high}
        for item in series
        if item["key"] == key and item["runId"] == run_id
        for step, value, low, high in zip(
            item["steps"], item["values"], item["mins"], item["maxs"], strict=True
        )
    ]
    downsampled = any(
        item["downsampled"] for item in series if item["key"] == key and item["runId"] == run_id
    )
    curve = alt.Chart(alt.InlineData(values=points)).encode(
        x=alt.X("step:Q", title="step", axis=alt.Axis(format=",d")),
    )
    layers: list[Any] = [_shaded(thread) for thread in threads if thread["anchor"]["metric"] == key]
    if downsampled:
        layers.append(
            curve.mark_area(color=color, opacity=BAND_OPACITY).encode(
                y=alt.Y("low:Q"), y2=alt.Y2("high:Q")
            )
        )
    y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
    if len(points) > 1:
        layers.append(curve.mark_line(color=color, strokeWidth=1.8).encode(y=y))
    # Hovering a step shows its value and range (a transparent dot a step carries the tooltip;
    # a single point is drawn as a dot).
    layers.append(
        curve.mark_circle(color=color, size=60, opacity=1 if len(points) == 1 else 0).encode(
            y=y,
            tooltip=[
                alt.Tooltip("step:Q", format=",d"),
                alt.Tooltip("value:Q", title=key, format=".4g"),
                alt.Tooltip("low:Q", title="range from", format=".4g"),
                alt.Tooltip("high:Q", title="range to", format=".4g"),
            ],
        )
    )
    return alt.LayerChart(
        layer=layers, title=alt.TitleParams(key, anchor="start", fontSize=15), height=height
    )


def _shaded(thread: dict[str, Any]) -> alt.LayerChart:
    """A thread's step range, shaded, with its number of comments at the top left."""
    low, high = thread["anchor"]["steps"]
    about = alt.Chart(
        alt.InlineData(values=[{"low": low, "high": high, "said": f"💬 {len(thread['comments'])}"}])
    )
    shade = about.mark_rect(color=THREAD_COLOR, opacity=THREAD_OPACITY).encode(
        x="low:Q", x2="high:Q"
    )
    label = about.mark_text(align="left", baseline="top", dx=3, dy=3).encode(
        x="low:Q", y=alt.value(0), text="said:N"
    )
    return alt.LayerChart(layer=[shade, label])
