"""Runs' curves as Vega-Lite specs: a line and a band a run, a dot for a single point, a
legend for several runs, and the step range a dragged box selects."""

from __future__ import annotations

from typing import Any

from dashboard.curve_specs import curves_spec, run_curve, zoomed_steps


def series(run_id: str, points: int, *, downsampled: bool = True) -> dict[str, Any]:
    steps = list(range(points))
    values = [1.0 / (step + 1) for step in steps]
    return {
        "runId": run_id,
        "key": "loss",
        "steps": steps,
        "values": values,
        "mins": [v * 0.9 for v in values],
        "maxs": [v * 1.1 for v in values],
        "downsampled": downsampled,
    }


def layer(spec: dict[str, Any], mark: str) -> dict[str, Any]:
    (found,) = [item for item in spec["layer"] if item["mark"]["type"] == mark]
    return found


def test_several_runs_get_a_colour_and_a_legend_each() -> None:
    spec = curves_spec([series("a", 400), series("b", 300)], "loss", {"a": "A", "b": "B"})
    rows = spec["datasets"]["curve"]
    assert [sum(row["run"] == name for row in rows) for name in "AB"] == [400, 300]
    color = layer(spec, "line")["encoding"]["color"]
    assert color["field"] == "run" and color["scale"]["domain"] == ["A", "B"]
    assert color["legend"]["orient"] == "bottom"
    # the plot keeps its height however long the legend (a legend of 30 runs had squeezed
    # a chart "fit" to its height to nothing)
    assert spec["autosize"]["type"] == "fit-x" and spec["height"] == 260
    tooltip = layer(spec, "circle")["encoding"]["tooltip"]
    assert tooltip[0]["field"] == "run", "a dot says whose run it is on"
    assert {item["mark"]["type"] for item in spec["layer"]} == {"area", "line", "circle"}


def test_runs_of_the_same_name_are_two_lines() -> None:
    ids = {"01a24e-aaaaaa": "baseline", "01a24e-bbbbbb": "baseline", "01a24e-cccccc": "lr-3e-4"}
    spec = curves_spec([series(run_id, 20) for run_id in ids], "loss", ids)
    domain = layer(spec, "line")["encoding"]["color"]["scale"]["domain"]
    assert domain == ["baseline (aaaaaa)", "baseline (bbbbbb)", "lr-3e-4"]
    assert {row["run"] for row in spec["datasets"]["curve"]} == set(domain)


def test_one_run_has_a_legend_only_away_from_its_page() -> None:
    spec = curves_spec([series("a", 50)], "loss", {"a": "A"})
    assert layer(spec, "line")["encoding"]["color"]["legend"] is None
    shared = curves_spec([series("a", 50)], "loss", {"a": "A"}, named=True)
    assert layer(shared, "line")["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_only_runs_the_hub_merged_have_a_band() -> None:
    spec = curves_spec(
        [series("a", 50, downsampled=False), series("b", 400)], "loss", {"a": "A", "b": "B"}
    )
    band = layer(spec, "area")
    assert band["transform"] == [{"filter": "datum.merged"}]
    merged = {row["run"]: row["merged"] for row in spec["datasets"]["curve"]}
    assert merged == {"A": False, "B": True}
    every_point = curves_spec([series("a", 50, downsampled=False)], "loss", {"a": "A"})
    assert "area" not in {item["mark"]["type"] for item in every_point["layer"]}


def test_a_metric_logged_once_is_a_dot_not_an_invisible_line() -> None:
    spec = curves_spec([series("a", 1), series("b", 50)], "loss", {"a": "A", "b": "B"})
    alone = {row["run"] for row in spec["datasets"]["curve"] if row["alone"]}
    assert alone == {"A"}
    assert layer(spec, "line")["transform"] == [{"filter": "!datum.alone"}]
    opacity = layer(spec, "circle")["encoding"]["opacity"]
    assert opacity == {"condition": {"test": "datum.alone", "value": 1}, "value": 0}
    only_once = curves_spec([series("a", 1)], "loss", {"a": "A"})
    assert "line" not in {item["mark"]["type"] for item in only_once["layer"]}


def test_other_metrics_and_runs_are_left_out() -> None:
    other = {**series("a", 20), "key": "acc"}
    spec = curves_spec([other, series("b", 30), series("c", 40)], "loss", {"b": "B"})
    assert {row["run"] for row in spec["datasets"]["curve"]} == {"B"}


def test_a_zoomable_chart_selects_a_step_range() -> None:
    spec = curves_spec([series("a", 50)], "loss", {"a": "A"}, zoomable=True)
    (param,) = layer(spec, "circle")["params"]
    assert param["select"] == {"type": "interval", "encodings": ["x"]}
    event = {"selection": {param["name"]: {"step": [312.4, 101.7]}}}
    assert zoomed_steps(event) == (101.7, 312.4)
    assert zoomed_steps({"selection": {param["name"]: {}}}) is None
    assert zoomed_steps({"selection": {}}) is None
    assert zoomed_steps(None) is None
    assert "params" not in layer(curves_spec([series("a", 50)], "loss", {"a": "A"}), "circle")


def test_a_run_page_curve_shades_the_ranges_its_threads_are_about() -> None:
    threads = [
        {"anchor": {"metric": "loss", "steps": [10, 20]}, "comments": [{}, {}]},
        {"anchor": {"metric": "acc", "steps": [30, 40]}, "comments": [{}]},
    ]
    spec = run_curve([series("a", 50)], "loss", "a", threads)
    assert spec["datasets"]["threads"] == [{"low": 10, "high": 20, "said": "💬 2"}]
    assert [item["mark"]["type"] for item in spec["layer"]][:2] == ["rect", "text"]
    assert "threads" not in run_curve([series("a", 50)], "loss", "a", threads[1:])["datasets"]
