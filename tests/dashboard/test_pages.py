"""Every dashboard page, run by Streamlit's AppTest against a live hub with the demo team's data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import hub_client
from dashboard.ui import code_span
from tests.api.test_datasets import person
from tests.conftest import LiveHub, free_port, graphql_call, start_hub

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGES = (
    "home",
    "experiments",
    "compare",
    "run",
    "datasets",
    "models",
    "tasks",
    "wiki",
    "resources",
    "activity",
    "settings",
    "audit",
)
TIMEOUT = 60


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Cached answers from one test (or one hub) must never leak into the next."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def hub_env(demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch) -> LiveHub:
    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", demo_hub.token)
    return demo_hub


def open_page(page: str, **query: str) -> AppTest:
    """Run the dashboard as a browser would land on ``page`` with ``query`` in its URL."""
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params.update(query)
    app.switch_page(f"app_pages/{page}.py")
    return app.run()


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def run_ids(hub: LiveHub, project: str, count: int) -> list[tuple[str, str]]:
    body = hub.graphql(
        "query($p: String) { runs(project: $p, first: 50) "
        "{ ... on RunConnection { nodes { id name } } } }",
        {"p": project},
    )
    return [(n["id"], n["name"]) for n in body["data"]["runs"]["nodes"][:count]]


def labelled(widgets: Any, label: str) -> Any:
    """The widget with this label (pages have several of a kind)."""
    return next(widget for widget in widgets if widget.label == label)


def figures(app: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def curve_charts(app: AppTest) -> list[dict[str, Any]]:
    """A page's curves: Vega-Lite specs, with the rows of each dataset the chart was sent (as
    Arrow) under ``rows`` by its name."""
    found = []
    for chart in app.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec["rows"] = {
            dataset.name: pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
            for dataset in chart.proto.datasets
        }
        found.append(spec)
    return found


def curve_rows(curve: dict[str, Any], mark: str = "line") -> list[dict[str, Any]]:
    """The rows a chart's layer of ``mark`` draws (before its own filter)."""
    layer = next(layer for layer in curve["layer"] if layer["mark"]["type"] == mark)
    return list(curve["rows"][layer["data"]["name"]])


def shaded_ranges(curve: dict[str, Any]) -> list[tuple[float, float]]:
    """The step ranges a Run page curve shades (those its threads are about)."""
    found = []
    for layer in curve["layer"]:
        if layer["mark"]["type"] == "rect":
            rows = curve["rows"][layer["data"]["name"]]
            found += [(row["low"], row["high"]) for row in rows]
    return found


def test_every_operation_is_named_once() -> None:
    names = hub_client.operations()
    assert {"Projects", "ProjectKeys", "SearchRuns", "RunDetail", "MetricSeries"} <= set(names)


def test_home_lists_projects_and_recent_runs(hub_env: LiveHub) -> None:
    app = open_page("home")
    assert_clean(app)
    text = " ".join(m.value for m in app.markdown)
    for project in ("vision-defects", "churn-forecast", "support-llm"):
        assert project in text
    recent = app.dataframe[0].value
    assert len(recent) == 15
    assert set(recent["project"]) <= {"vision-defects", "churn-forecast", "support-llm"}
    assert recent["status"].str.contains("finished|running|failed").all()
    assert recent["key metric"].str.startswith("val/acc = ").all()


def test_experiments_shows_params_and_metrics_as_columns(hub_env: LiveHub) -> None:
    app = open_page("experiments", project="vision-defects")
    assert_clean(app)
    table = app.dataframe[0].value
    assert len(table) == 24
    assert {"metrics.val/acc", "metrics.train/loss", "params.lr", "params.optimizer"} <= set(
        table.columns
    )
    compare = next(b for b in app.button if b.label.startswith("Compare"))
    assert compare.disabled  # nothing selected yet


def test_experiments_filter_and_sort(hub_env: LiveHub) -> None:
    app = open_page("experiments", project="vision-defects")
    app.text_input[0].set_value("metrics.`val/acc` > 0.85 and params.optimizer = 'adamw'")
    app.selectbox(key="sort:vision-defects").set_value("metrics.val/acc")
    app.run()
    assert_clean(app)
    table = app.dataframe[0].value
    assert 0 < len(table) < 24
    assert (table["metrics.val/acc"] > 0.85).all()
    assert (table["params.optimizer"] == "adamw").all()
    assert table["metrics.val/acc"].is_monotonic_decreasing


def test_experiments_bad_filter_explains_itself(hub_env: LiveHub) -> None:
    app = open_page("experiments", project="vision-defects")
    app.text_input[0].set_value("metrics.acc >> 0.8").run()
    assert not app.exception
    assert len(app.error) == 1
    assert "Could not read the filter at column 14" in app.error[0].value
    assert "metrics.`val/acc` > 0.8" in app.code[0].value
    assert not app.dataframe


def test_compare_draws_curves_of_the_runs_in_the_link(hub_env: LiveHub) -> None:
    picked = run_ids(hub_env, "churn-forecast", 2)
    app = open_page("compare", runs=",".join(run_id for run_id, _ in picked))
    assert_clean(app)
    assert app.selectbox[0].value == "churn-forecast"
    assert labelled(app.multiselect, "Runs").value == [run_id for run_id, _ in picked]
    curves = curve_charts(app)
    assert len(curves) == 2  # the preferred metrics; the settings view is not open
    assert not figures(app), "no Plotly figure: plotly.js is not loaded for the curves"
    names = [name for _, name in picked]
    for curve in curves:
        line = next(layer for layer in curve["layer"] if layer["mark"]["type"] == "line")
        assert line["encoding"]["color"]["scale"]["domain"] == names  # a colour and legend each
        rows = curve_rows(curve)
        assert {row["run"] for row in rows} == set(names)
        # min/max of each run's merged steps, so spikes stay visible
        assert {row["run"] for row in curve_rows(curve, "area") if row["merged"]} == set(names)


def test_compare_opens_the_view_its_link_names(hub_env: LiveHub) -> None:
    picked = run_ids(hub_env, "churn-forecast", 2)
    runs = ",".join(run_id for run_id, _ in picked)
    app = open_page("compare", runs=runs, view="Settings against a result")
    assert_clean(app)
    (parallel,) = figures(app)  # only the open view ran: no curves fetched or drawn
    assert parallel["data"][0]["type"] == "parcoords"
    labels = [d["label"] for d in parallel["data"][0]["dimensions"]]
    assert labels[-1] == "val/acc"
    assert "optimizer" in labels


def test_compare_step_range_fetches_finer_points(hub_env: LiveHub) -> None:
    picked = run_ids(hub_env, "vision-defects", 1)
    app = open_page("compare", runs=picked[0][0])
    before = [row["step"] for row in curve_rows(curve_charts(app)[0])]
    app.slider[0].set_value((100, 300)).run()
    assert_clean(app)
    after = [row["step"] for row in curve_rows(curve_charts(app)[0])]
    assert min(after) >= 100 and max(after) <= 300
    assert len(after) > len([x for x in before if 100 <= x <= 300])  # finer detail
    assert app.query_params["runs"] == picked[0][0]


def test_compare_takes_runs_selected_on_the_experiments_page(hub_env: LiveHub) -> None:
    picked = run_ids(hub_env, "support-llm", 3)
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.session_state["selected_runs"] = [run_id for run_id, _ in picked]
    app.switch_page("app_pages/compare.py").run()
    assert_clean(app)
    assert app.selectbox[0].value == "support-llm"
    assert labelled(app.multiselect, "Runs").value == [run_id for run_id, _ in picked]


def test_run_page_shows_one_run(hub_env: LiveHub) -> None:
    (run_id, name), *_ = run_ids(hub_env, "vision-defects", 1)
    app = open_page("run", id=run_id)
    assert_clean(app)
    assert app.title[0].value == name
    latest = {m.label: m.value for m in app.metric}  # each metric's last value, as a card
    assert set(latest) == {"lr", "train/loss", "val/acc", "val/loss"} and all(latest.values())
    params = app.dataframe[0].value
    assert "optimizer" in set(params["key"])
    text = " ".join(m.value for m in app.markdown)
    assert "Git commit" in text and "gpu-node-" in text
    assert "**Command** ` python train.py" in text, "as inline code"
    assert not app.code, "no highlighted code: its 1.5 MB script is not loaded for this page"
    curves = curve_charts(app)
    assert len(curves) == 4  # every metric as a small chart
    titles = {curve["title"]["text"] for curve in curves}
    assert titles == {"lr", "train/loss", "val/acc", "val/loss"}
    line = next(layer for layer in curves[0]["layer"] if layer["mark"]["type"] == "line")
    steps = [row["step"] for row in curves[0]["rows"][line["data"]["name"]]]
    assert 100 < len(steps) <= 300 and steps == sorted(steps), "the run's steps, in buckets"
    assert not figures(app), "no Plotly figure: plotly.js is not loaded for this page"
    files = app.dataframe[2].value
    assert list(files["file"]) == ["config.yaml", "eval/report.md"]
    assert app.selectbox(key="artifact").options == ["config.yaml", "eval/report.md"]
    token = hub_env.token
    report = hub_client.artifact(
        f"/api/2.0/mlflow-artifacts/artifacts/x/{run_id}/artifacts/eval/report.md", token
    )
    assert report.startswith(b"# Evaluation")


def test_a_runs_command_is_copied_from_a_box_drawn_once_opened(hub_env: LiveHub) -> None:
    (run_id, _), *_ = run_ids(hub_env, "vision-defects", 1)
    app = open_page("run", id=run_id)
    app.session_state[f"command:{run_id}"] = True  # as opening "Copy" in the browser does
    app.run()
    assert_clean(app)
    (command,) = app.code  # st.code, with its copy button
    assert command.value.startswith("python train.py") and command.language == "bash"


def test_a_command_with_backticks_is_inline_code_as_typed() -> None:
    assert code_span("echo `date`") == "`` echo `date` ``"
    assert code_span("python train.py") == "` python train.py `"


def test_a_runs_installed_packages_are_drawn_once_opened(hub_env: LiveHub) -> None:
    """The list of installed packages (long, highlighted as code) is drawn only once someone
    opens it, not on every visit of the page."""
    (run_id, _), *_ = run_ids(hub_env, "vision-defects", 1)
    app = open_page("run", id=run_id)
    assert_clean(app)
    packages = next(e for e in app.expander if e.label.startswith("Installed packages"))
    assert not packages.code, "closed: nothing drawn in it"
    app.session_state[f"packages:{run_id}"] = True  # as opening it in the browser does
    app.run()
    assert_clean(app)
    packages = next(e for e in app.expander if e.label.startswith("Installed packages"))
    listed = packages.code[0].value.splitlines()
    assert any(line.startswith("torch==") for line in listed), listed


def test_a_run_of_a_fraction_of_a_second_says_so(
    hub_server: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's quick run reads as under a second, not "0 s" (which looks broken). (On a
    hub of its own: a new run in the demo team's hub would be the newest run other modules
    read.)"""
    import hub

    monkeypatch.setenv("SALON_URL", hub_server.url)
    monkeypatch.setenv("SALON_TOKEN", hub_server.token)
    quick = hub.init(
        project="vision-defects",
        experiment="notebook",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    quick.log({"loss": 0.5}, step=1)
    quick.finish()
    app = open_page("run", id=quick.id)
    assert_clean(app)
    assert any(m.value == ":material/timer: under 1 s" for m in app.markdown)


def test_run_page_without_id_offers_a_picker(hub_env: LiveHub) -> None:
    app = open_page("run")
    assert_clean(app)
    project = str(app.selectbox[0].value)
    assert app.selectbox[1].value is None
    (run_id, name), *_ = run_ids(hub_env, project, 1)
    assert any(option.startswith(name) for option in app.selectbox[1].options)
    app.selectbox[1].set_value(run_id).run()  # set_value: AppTest's select_index ignores labels
    assert_clean(app)
    assert app.title[1].value == name
    assert app.query_params["id"] == run_id


def test_run_page_unknown_id_says_so(hub_env: LiveHub) -> None:
    app = open_page("run", id="no-such-run")
    assert not app.exception
    assert "There is no run with id no-such-run" in app.warning[0].value


@pytest.mark.parametrize("page", PAGES)
def test_unreachable_hub_shows_what_to_do(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SALON_TOKEN", "whatever")
    app = open_page(page, id="x") if page == "run" else open_page(page)
    assert not app.exception, [e.value for e in app.exception]
    assert "Cannot reach the Salon hub" in app.error[0].value
    assert "SALON_URL" in app.error[0].value


def test_wrong_token_shows_what_to_do(demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", "not-a-token")
    app = open_page("home")
    assert not app.exception
    assert "SALON_TOKEN" in app.error[0].value


def test_settings_makes_shows_and_revokes_a_token(hub_env: LiveHub) -> None:
    app = open_page("settings")
    assert_clean(app)
    assert "admin" in app.markdown[0].value
    app.text_input[0].input("from the settings page")
    app.multiselect[0].select("vision-defects")
    app.button[0].click().run()
    assert_clean(app)
    secret = app.code[0].value
    assert secret.startswith("salon_")
    # The new token works, narrowed to the project and to reading.
    projects = graphql_call(hub_env.url, secret, "{ projects { name } me { canWrite } }")["data"]
    assert [p["name"] for p in projects["projects"]] == ["vision-defects"]
    assert projects["me"]["canWrite"] is False
    names = list(app.dataframe[0].value["name"])
    assert "from the settings page" in names
    revoke = app.selectbox[0]
    choice = next(o for o in revoke.options if o.startswith("from the settings page"))
    revoke.select(choice)
    app.button[1].click().run()
    assert_clean(app)
    revoked = httpx.post(
        f"{hub_env.url}/graphql",
        json={"query": "{ version }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert revoked.status_code == 401


def test_settings_refuses_a_token_without_a_name(hub_env: LiveHub) -> None:
    app = open_page("settings")
    app.button[0].click().run()
    assert "Give the token a name" in app.error[0].value


def test_audit_page_lists_events_with_people_by_name(hub_env: LiveHub) -> None:
    hub_env.graphql("{ projects { name } }")
    app = open_page("audit")
    assert_clean(app)
    frame = app.dataframe[0].value
    assert {"when (UTC)", "who", "action", "outcome"} <= set(frame.columns)
    assert "projects.list" in set(frame["action"])
    assert "admin" in set(frame["who"])
    app.selectbox[2].select("deny")
    app.button[0].click().run()
    assert_clean(app)


def test_a_compliance_officer_narrows_the_trail_by_project_and_reads_names(
    hub_env: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hana holds no project role: the project filter still lists every project, and projects
    and objects read by name, their ids beside them (they were truncated ids)."""
    from tests.api.test_discussions import person_token

    (run_id, name), *_ = run_ids(hub_env, "vision-defects", 1)
    hub_env.graphql("query($id: ID!) { run(id: $id) { name } }", {"id": run_id})
    monkeypatch.setenv("SALON_TOKEN", person_token(hub_env, "hana.kim"))
    st.cache_data.clear()
    app = open_page("audit")
    assert_clean(app)
    options = labelled(app.selectbox, "Project").options
    assert {"vision-defects", "churn-forecast", "support-llm"} <= set(options), options
    labelled(app.selectbox, "Project").select("vision-defects")
    labelled(app.text_input, "Action").input("run.read")
    labelled(app.button, "Show").click().run()
    assert_clean(app)
    frame = app.dataframe[0].value
    read = frame[frame["object id"] == run_id].iloc[0]
    shown = (read["object"], read["project"], read["who"])
    assert shown == (f"run {name}", "vision-defects", "admin")
    assert set(frame["project"]) == {"vision-defects"}
    assert not any("People appear by their account id" in c.value for c in app.caption)


def test_datasets_page_shows_history_profile_and_rows(hub_env: LiveHub) -> None:
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    assert_clean(app)
    assert "4,500 rows" in app.caption[0].value and "cam-3 re-aimed" in app.caption[0].value
    history = app.dataframe[0].value
    assert list(history["version"]) == [2, 1]
    links = [link.proto.label for link in app.get("page_link")]
    assert any(label.endswith("trained on it") for label in links), "lineage from the demo runs"
    columns = app.dataframe[1].value
    assert "inspector_email 🔒" in set(columns["column"])
    assert "Who signed off the part" in set(columns["what it holds"])
    assert figures(app), "a distribution chart"
    rows = app.dataframe[2].value
    assert len(rows) == 50 and "surface_temp_c" in rows.columns
    labelled(app.selectbox, "Sort by").select("surface_temp_c")
    labelled(app.toggle, "Largest first").set_value(True).run()
    assert_clean(app)
    ordered = list(app.dataframe[2].value["surface_temp_c"])
    assert ordered == sorted(ordered, reverse=True)


def test_a_big_versions_charts_say_they_count_a_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a million rows a column's distribution comes from a fixed sample: the chart says
    so instead of passing the sample's counts off as the version's. (A hub of its own: the
    demo hub is shared by tests that only read.)"""
    import numpy as np
    import polars as pl

    import hub

    rows = 1_200_000
    frame = pl.DataFrame({"reading": np.arange(rows), "sensor": ["s1", "s2", "s3"] * (rows // 3)})
    for live in start_hub(tmp_path, demo=False):
        monkeypatch.setenv("SALON_URL", live.url)
        monkeypatch.setenv("SALON_TOKEN", live.token)
        client = hub.Client(live.url, live.token)
        client.upload_dataset("sensor-lab", "readings", frame, message="a month of readings")
        app = open_page("datasets", project="sensor-lab", dataset="readings")
        assert_clean(app)
        assert "1,200,000 rows" in app.caption[0].value
        distinct = app.dataframe[1].value.set_index("column")["distinct"]
        assert distinct["sensor"] == "3", "counted"
        assert distinct["reading"].startswith("≈ "), "an estimate says so"
        assert abs(int(distinct["reading"][2:].replace(",", "")) - rows) < 0.05 * rows
        (figure,) = figures(app)
        assert figure["layout"]["yaxis"]["title"]["text"] == "rows in a sample of 1,000,000"
        assert sum(figure["data"][0]["y"]) == 1_000_000
        labelled(app.selectbox, "Look closer at").select("sensor").run()
        (figure,) = figures(app)
        assert figure["layout"]["xaxis"]["title"]["text"] == "rows in a sample of 1,000,000"


def test_datasets_page_offers_upload_only_to_editors(
    hub_env: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commenter is not shown an Upload form whose use the hub refuses; she is told why."""
    assert "Upload" in {b.label for b in open_page("datasets", project="vision-defects").button}
    monkeypatch.setenv("SALON_TOKEN", person(hub_env, "cora", "commenter", "vision-defects"))
    st.cache_data.clear()
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    assert_clean(app)
    assert "Upload" not in {b.label for b in app.button}
    assert not app.get("file_uploader")
    assert any(
        "Uploading a version needs the editor role or above in vision-defects; you are a "
        "commenter." in c.value
        for c in app.caption
    )


def test_datasets_page_older_version_and_descriptions(hub_env: LiveHub) -> None:
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    labelled(app.selectbox, "Version").select(1).run()
    assert_clean(app)
    assert "4,000 rows" in app.caption[0].value
    labelled(app.selectbox, "Column").select("camera")
    app.text_area[0].input("Which of the four line cameras took the picture")
    labelled(app.button, "Save description").click().run()
    assert_clean(app)
    assert "Saved the description of camera" in app.success[0].value


def test_datasets_page_compares_two_versions_in_words(hub_env: LiveHub) -> None:
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    labelled(app.selectbox, "Match rows by").select("part_id").run()
    assert_clean(app)
    said = " ".join(m.value for m in app.markdown)
    assert "500 more rows (4,000 → 4,500)." in said
    assert "Matched by part_id: 500 rows added, 0 removed" in said
    assert "surface_temp_c rose on average" in said
    # The chart: how far each measured column's average moved, in % of the older version's,
    # so columns of any scale compare; the key and other identifiers are left out.
    (chart,) = [f for f in figures(app) if f["data"][0].get("orientation") == "h"]
    bars = chart["data"][0]
    assert "part_id" not in bars["y"] and "surface_temp_c" in bars["y"], bars["y"]
    before, after = (bars["customdata"][bars["y"].index("surface_temp_c")][i] for i in (0, 1))
    change = bars["x"][bars["y"].index("surface_temp_c")]
    assert change == pytest.approx(100 * (after - before) / abs(before)) and change > 0
    assert chart["layout"]["xaxis"]["ticksuffix"] == " %"


def test_datasets_page_filters_rows_and_explains_a_bad_filter(hub_env: LiveHub) -> None:
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    labelled(app.text_input, "Only rows where").input("defect = 'dent' and line = 'B'").run()
    assert_clean(app)
    shown = app.dataframe[2].value
    assert len(shown) and set(shown["defect"]) == {"dent"} and set(shown["line"]) == {"B"}
    assert any("rows match" in c.value for c in app.caption)
    labelled(app.text_input, "Only rows where").input("defect = ").run()
    assert not app.exception
    assert "ends too early" in app.warning[0].value


def test_datasets_page_publishes_annotations_as_a_new_version(hub_env: LiveHub) -> None:
    marked = hub_env.graphql(
        'mutation { annotateRows(project: "support-llm", dataset: "tickets", version: 1, '
        'annotations: [{row: 0, label: "billing", vote: -1}]) { __typename } }'
    )
    assert marked["data"]["annotateRows"]["__typename"] == "Annotated"
    app = open_page("datasets", project="support-llm", dataset="tickets")
    assert_clean(app)
    editor = next(d.value for d in app.dataframe if "vote" in d.value.columns)
    first = editor[editor["row"] == 0].iloc[0]
    assert (first["label"], first["vote"]) == ("billing", "👎"), "the saved annotation shows"
    labelled(app.button, "Publish annotations as a new version").click().run()
    assert_clean(app)
    assert "Version 2 made" in app.success[0].value


def test_datasets_page_draws_the_lineage_of_a_version(hub_env: LiveHub) -> None:
    app = open_page("datasets", project="vision-defects", dataset="line-inspections")
    assert_clean(app)
    graphs = [f for f in figures(app) if any(t.get("mode") == "markers+text" for t in f["data"])]
    assert graphs, "a lineage graph"
    labels = [text for trace in graphs[0]["data"] for text in trace.get("text") or []]
    assert "line-inspections v2" in labels
    used = hub_env.graphql(
        '{ dataset(project: "vision-defects", name: "line-inspections") '
        "{ version { runs { run { name } } } } }"
    )["data"]["dataset"]["version"]["runs"]
    assert used and {u["run"]["name"] for u in used} <= set(labels)


def test_resources_for_someone_with_no_project_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compliance officer has no role in any project: the whole page still draws (it
    stopped at a KeyError below the Share button), and Share says why it cannot make a link."""
    gone = f"http://127.0.0.1:{free_port()}"  # a cluster that does not answer
    for live in start_hub(tmp_path, demo=False, ray_address=gone):
        live.graphql(
            'mutation { createRun(input: {project: "p", experiment: "e"}) { __typename } }'
        )
        monkeypatch.setenv("SALON_URL", live.url)
        monkeypatch.setenv("SALON_TOKEN", person(live, "no-role-reader", None))
        app = open_page("resources")
        assert_clean(app)
        said = [info.value for info in app.info]
        assert any("no role in any" in text for text in said), said
        assert "Jobs" in [header.value for header in app.subheader]


def test_someone_with_no_role_is_told_whom_to_ask(
    hub_env: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "No projects yet" on a hub with three projects: say there are projects they have
    no role in (not which) and who can add them, on every page that needs a project."""
    monkeypatch.setenv("SALON_TOKEN", person(hub_env, "new-hire", None))
    admins = hub_env.graphql("{ projectsOutOfReach { siteAdmins } }")["data"]
    named = admins["projectsOutOfReach"]["siteAdmins"]
    assert named, "the demo team has a site admin"
    for page in ("home", "experiments", "compare", "run", "datasets", "models", "tasks", "wiki"):
        app = open_page(page)
        assert_clean(app)
        said = " ".join(info.value for info in app.info)
        assert "3 projects you have no role in" in said and named[0] in said, (page, said)
        assert "No projects yet" not in said and "vision-defects" not in said, page
