"""The curves' figure: SVG for the downsampled curves pages draw, WebGL for very many points."""

from __future__ import annotations

from typing import Any

from dashboard.charts import SVG_POINTS, curves_figure


def series(run_id: str, points: int) -> dict[str, Any]:
    steps = list(range(points))
    values = [1.0 / (step + 1) for step in steps]
    return {
        "runId": run_id,
        "key": "loss",
        "steps": steps,
        "values": values,
        "mins": values,
        "maxs": values,
        "downsampled": True,
    }


def test_downsampled_curves_are_svg_and_keep_their_band() -> None:
    figure = curves_figure([series("a", 400), series("b", 400)], "loss", {"a": "A", "b": "B"})
    assert {trace.type for trace in figure.data} == {"scatter"}
    assert [trace.name for trace in figure.data] == ["A range", "A", "B range", "B"]


def test_very_many_points_are_drawn_with_webgl() -> None:
    many = SVG_POINTS // 2 + 1  # with its band, one curve is past the limit
    figure = curves_figure([series("a", many)], "loss", {"a": "A"})
    assert {trace.type for trace in figure.data} == {"scattergl"}
    without_band = curves_figure([series("a", many)], "loss", {"a": "A"}, show_band=False)
    assert {trace.type for trace in without_band.data} == {"scatter"}


def test_a_metric_logged_once_is_a_dot_not_an_invisible_line() -> None:
    figure = curves_figure([series("a", 1), series("b", 50)], "loss", {"a": "A", "b": "B"})
    modes = {trace.name: trace.mode for trace in figure.data}
    assert modes["A"] == "markers" and modes["B"] == "lines"
