"""Discussions on the dashboard (AppTest against a live hub): commenting on a run's curve,
replying, reacting, resolving, mentioning someone who then finds it in their inbox, and the
feed of what changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

import hub
from tests.api.test_datasets import inspections, person
from tests.api.test_discussions import a_run
from tests.conftest import LiveHub, start_hub
from tests.dashboard.test_pages import (
    assert_clean,
    curve_charts,
    figures,
    labelled,
    open_page,
    shaded_ranges,
)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def team(hub_server: LiveHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A run with a curve, and two people: ada (commenter) signed in to the dashboard, and
    bob (editor) who gets mentioned."""
    run = hub.init(
        project="vision",
        experiment="detector",
        name="lr-3e-4",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    for step in range(0, 300, 10):
        run.log({"loss": 2.0 / (1 + step / 50)}, step=step)
    run.finish()
    tokens = {
        "ada": person(hub_server, "ada", "commenter", "vision"),
        "bob": person(hub_server, "bob", "editor", "vision"),
    }
    monkeypatch.setenv("SALON_URL", hub_server.url)
    monkeypatch.setenv("SALON_TOKEN", tokens["ada"])
    return {"run": run.id, **tokens}


def write(
    app: object, text: str, mention: list[str] | None = None, about: str | None = None
) -> None:
    labelled(app.text_area, "Comment").input(text)  # type: ignore[attr-defined]
    if mention:
        labelled(app.multiselect, "Mention").set_value(mention)  # type: ignore[attr-defined]
    if about:
        labelled(app.selectbox, "About").set_value(about)  # type: ignore[attr-defined]
    labelled(app.button, "Comment").click().run()  # type: ignore[attr-defined]


def test_comment_on_a_curve_reply_react_and_resolve(
    team: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page("run", id=team["run"])
    assert_clean(app)
    assert any("No comments yet" in str(h.proto.body) for h in app.get("html"))
    assert not app.slider, "the part of a curve is chosen once its box is opened"
    assert not [s for s in app.selectbox if s.label == "About"], "nothing to choose yet"
    app.session_state[f"curve-part:{team['run']}"] = True  # as opening it in the browser does
    app.run()
    labelled(app.slider, "Steps").set_value((100, 200)).run()
    write(app, "The loss flattens **here**; warm-up too short?", ["bob"], "loss, steps 100 to 200")
    assert_clean(app)
    html = " ".join(str(h.proto.body) for h in app.get("html"))
    assert "<strong>here</strong>" in html and '<span class="mention">@bob</span>' in html
    assert any("on loss, steps 100 to 200" in c.value for c in app.caption)
    shaded = [shaded_ranges(curve) for curve in curve_charts(app)]
    assert [(100, 200)] in shaded, "the range is shaded"

    monkeypatch.setenv("SALON_TOKEN", team["bob"])  # bob opens his inbox
    st.cache_data.clear()
    inbox = open_page("activity")
    assert_clean(inbox)
    text = " ".join(m.value for m in inbox.markdown)
    assert "2 unread" in text and "commented on run lr-3e-4" in text  # and his new role
    labelled(inbox.button, "Mark all as read").click().run()
    assert "Nothing unread." in " ".join(m.value for m in inbox.markdown)

    bob = open_page("run", id=team["run"])
    assert not [t for t in bob.text_area if t.label == "Reply"], "closed: no form drawn in it"
    thread = labelled(bob.button, "Resolve").key.removeprefix("resolve:")
    opened = f"replying:{thread}:0"  # the reply box's key as it opens
    bob.session_state[opened] = True  # as opening it in the browser does
    bob.run()
    labelled(bob.text_area, "Reply").input("Yes: try 500 steps.")
    labelled(bob.button, "Reply").click().run()
    assert_clean(bob)
    replies = " ".join(str(h.proto.body) for h in bob.get("html"))
    assert "Yes: try 500 steps." in replies
    assert not [t for t in bob.text_area if t.label == "Reply"], "sent: its box closes"
    bob.session_state[opened] = True  # a poll sent before the browser saw it close
    bob.run()
    assert not [t for t in bob.text_area if t.label == "Reply"], "and stays closed"
    next(b for b in bob.button if b.label == "👍").click().run()
    assert any(b.label == "👍 1" for b in bob.button)
    labelled(bob.button, "Resolve").click().run()
    assert_clean(bob)
    assert any("Every thread is resolved." in str(h.proto.body) for h in bob.get("html"))


def test_dataset_version_discussion_and_the_feed(team: dict[str, str], hub_server: LiveHub) -> None:
    hub.Client(hub_server.url, hub_server.token).upload_dataset(
        "vision", "inspections", inspections(200)
    )
    app = open_page("datasets", project="vision", dataset="inspections")
    assert_clean(app)
    labelled(app.text_input, "Only rows where").input("temperature_c > 45").run()
    write(app, "These readings look like a sensor fault.", about="Rows where temperature_c > 45")
    assert_clean(app)
    assert any("on rows where temperature_c > 45" in c.value for c in app.caption)

    feed = open_page("activity")
    labelled(feed.selectbox, "Project").set_value("vision").run()
    what = list(feed.dataframe[0].value["what"])
    assert any(w.startswith("commented on dataset inspections version 1") for w in what), what
    assert any(w.startswith("started run lr-3e-4") for w in what), what
    labelled(feed.selectbox, "Show").set_value("Comments").run()
    assert all(w.startswith("commented") for w in feed.dataframe[0].value["what"])
    labelled(feed.button, "Mark all as seen").click().run()
    labelled(feed.toggle, "Only since I last looked").set_value(True).run()
    assert_clean(feed)
    assert any("Nothing new since then." in c.value for c in feed.caption)


def test_a_comment_is_edited_by_its_author(team: dict[str, str]) -> None:
    app = open_page("run", id=team["run"])
    write(app, "Warm-up of 100 steps.")
    assert_clean(app)
    assert not [t for t in app.text_area if t.label == "Your comment"], "closed: no form in it"
    comment = next(b.key for b in app.button if b.key and b.key.endswith(":+1"))  # a reaction's
    opened = comment.removesuffix(":+1") + ":editing:0"  # the edit box's key as it opens
    app.session_state[opened] = True  # as opening it does
    app.run()
    labelled(app.text_area, "Your comment").input("Warm-up of 500 steps.")
    labelled(app.button, "Save").click().run()
    assert_clean(app)
    shown = " ".join(str(h.proto.body) for h in app.get("html"))
    assert "Warm-up of 500 steps." in shown and "Warm-up of 100 steps." not in shown
    assert not [t for t in app.text_area if t.label == "Your comment"], "saved: its box closes"
    app.session_state[opened] = True  # a poll sent before the browser saw it close
    app.run()
    assert not [t for t in app.text_area if t.label == "Your comment"], "and stays closed"
    assert any("_edited_" in m.value for m in app.markdown)


def test_a_bad_comment_is_explained(team: dict[str, str]) -> None:
    app = open_page("run", id=team["run"])
    write(app, "x" * 20_001)
    assert any("limit is 20,000" in e.value for e in app.error)


def test_the_board_opens_moves_and_discusses_a_task(team: dict[str, str]) -> None:
    app = open_page("tasks")
    assert_clean(app)
    labelled(app.selectbox, "Project").set_value("vision").run()
    labelled(app.text_input, "Title").input("Label the line C rows")
    labelled(app.selectbox, "Assignee").set_value("bob")
    labelled(app.text_input, "Labels").input("data, line C")
    labelled(app.button, "Open task").click().run()
    assert_clean(app)
    assert any("#1 Label the line C rows" in m.value for m in app.markdown)
    next(b for b in app.button if b.help == "Move to Doing").click().run()
    assert_clean(app)
    text = " ".join(m.value for m in app.markdown)
    assert "**Doing** (1)" in text and "**To do** (0)" in text
    labelled(app.button, "Open").click().run()
    assert_clean(app)
    assert app.subheader[0].value == "#1 Label the line C rows"
    write(app, "Started on the first 100 rows.")
    assert_clean(app)
    assert any("Started on the first 100 rows." in str(h.proto.body) for h in app.get("html"))


def test_choosing_a_weekly_digest_and_previewing_it(team: dict[str, str]) -> None:
    app = open_page("activity")
    assert_clean(app)
    labelled(app.radio, "Send me a digest").set_value("weekly")
    labelled(app.text_input, "Time zone").input("Europe/Lisbon")
    labelled(app.button, "Save").click().run()
    assert_clean(app)
    assert labelled(app.radio, "Send me a digest").value == "weekly"
    labelled(app.toggle, "Preview the next one").set_value(True).run()
    assert_clean(app)
    assert any(m.value.startswith("**Salon this week") for m in app.markdown)
    labelled(app.text_input, "Time zone").input("Mars/Olympus")
    labelled(app.button, "Save").click().run()
    assert any("is not a time zone" in e.value for e in app.error)


def test_a_wiki_page_with_a_live_card_and_a_shared_notebook(
    team: dict[str, str], hub_server: LiveHub
) -> None:
    from tests.api.test_pages import notebook

    app = open_page("wiki", project="vision")
    assert_clean(app)
    assert any("No pages in vision yet" in i.value for i in app.info)
    labelled(app.text_input, "Address").input("decisions")
    labelled(app.text_input, "Title").input("Decisions")
    labelled(app.text_area, "Text (Markdown)").input("We ship [[run:lr-3e-4]].")
    labelled(app.button, "Save").click().run()
    assert_clean(app)
    assert any("We ship" in str(h.proto.body) for h in app.get("html"))
    assert any(m.value == "**run lr-3e-4**" for m in app.markdown), "the live card"
    assert any(c.value == "finished" for c in app.caption)
    page_text = " ".join(str(h.proto.body) for h in app.get("html"))
    assert "[[run:" not in page_text and "run lr-3e-4 (finished)" in page_text

    # The wiki opens on the project's pages, not on an empty form.
    landing = open_page("wiki", project="vision")
    assert_clean(landing)
    links = [link.proto for link in landing.get("page_link")]
    assert [(link.label, link.query_string) for link in links] == [
        ("Decisions", "project=vision&slug=decisions")
    ]
    assert any(c.value.startswith("Page · version 1 by ") for c in landing.caption)
    assert not [e for e in landing.expander if e.proto.expanded], "the form waits, folded"

    run = hub.Client(hub_server.url, hub_server.token)
    run.query(
        'mutation($b: String!) { savePage(project: "vision", slug: "drift", body: $b, '
        'kind: "notebook") { __typename } }',
        {"b": notebook()},
    )
    book = open_page("wiki", project="vision", slug="drift")
    assert_clean(book)
    html = " ".join(str(h.proto.body) for h in book.get("html"))
    assert "data:image/png;base64," in html and "<td>44.1</td>" in html


def table(app: Any, column: str) -> Any:
    """The page's first table with this column."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def test_the_resources_page_shows_the_cluster_usage_and_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page over a day of cluster history (sampled from a real cluster in
    tests/test_cluster.py; written here as the sampler writes it), while the cluster itself
    does not answer."""
    import asyncio
    from datetime import datetime, time, timedelta

    from hub.clock import now
    from hub.domain.cluster import ClusterJob, NodeSample

    at = now()
    jobs = [
        ClusterJob(
            "salon-a",
            "SUCCEEDED",
            "python train.py",
            "ada",
            "vision",
            2,
            4,
            None,
            None,
            at - timedelta(hours=30),
            at - timedelta(hours=20),
            "",
            at,
        ),
        ClusterJob(
            "salon-b",
            "RUNNING",
            "python eval.py",
            "bob",
            "vision",
            1,
            1,
            None,
            None,
            at - timedelta(hours=1),
            None,
            "",
            at,
        ),
    ]
    for live in start_hub(
        tmp_path, demo=False, ray_address="http://127.0.0.1:9", ray_sample_seconds=3600
    ):
        a_run(live)
        for hours, used in ((30, 2), (20, 4), (1, 3)):
            sample = NodeSample(
                at - timedelta(hours=hours),
                "node-1",
                "10.0.0.5",
                True,
                32,
                8,
                4,
                used,
                name="gpu-node-1",
                is_head=True,
            )
            asyncio.run(live.store.cluster.sampled([sample], jobs, sample.sampled_at, 400))
        asyncio.run(live.store.cluster.failed(at, "Cannot reach the Ray cluster at …"))
        monkeypatch.setenv("SALON_URL", live.url)
        monkeypatch.setenv("SALON_TOKEN", live.token)
        app = open_page("resources")
        assert_clean(app)
        assert any("does not answer right now" in w.value for w in app.warning)
        # The cluster does not answer: nothing is known to be up or busy (the last sample's
        # 3 of 4 busy GPUs were shown as if current).
        metrics = {m.label: m.value for m in app.metric}
        assert (metrics["GPUs busy"], metrics["GPUs free"], metrics["Nodes up"]) == ("0", "0", "0")
        people = table(app, "GPU-hours")
        assert list(people["who"]) == ["ada", "bob"]
        assert people["GPU-hours"][0] == pytest.approx(20.0)
        assert app.get("download_button"), "the GPU-hours report"
        assert list(table(app, "status")["status"]) == ["running", "succeeded"]
        assert len(figures(app)) == 3  # now, by team over time, history
        now_chart, teams, history = figures(app)
        # The node by its role and name; usage by named periods with a legend even for one
        # team; the history over the whole period chosen (it zoomed into milliseconds).
        assert now_chart["data"][0]["y"] == ["head node gpu-node-1 (10.0.0.5)"]
        assert teams["layout"]["showlegend"] and teams["layout"]["xaxis"]["type"] == "category"
        assert teams["layout"]["legend"]["title"]["text"] == "team"
        assert all(":" not in label for trace in teams["data"] for label in trace["x"])
        start, end = (datetime.fromisoformat(x) for x in history["layout"]["xaxis"]["range"])
        assert end - start > timedelta(days=29), "the 30 days asked for"
        assert any("Nothing booked" in c.value for c in app.caption)
        labelled(app.selectbox, "Project").set_value("vision")
        labelled(app.number_input, "GPUs to book").set_value(3)
        labelled(app.text_input, "Note").input("ablation study")
        labelled(app.button, "Book").click().run()
        assert_clean(app)
        booked = table(app, "note")
        assert list(booked["GPUs"]) == [3] and list(booked["note"]) == ["ablation study"]
        labelled(app.number_input, "GPUs to book").set_value(2)
        labelled(app.button, "Book").click().run()
        assert any("has 4 GPUs and 3 are already booked" in e.value for e in app.error)
        assert len(figures(app)) == 4  # and the calendar
        # Overnight, booked from New York: 22:00 to 02:00 the next day is four hours.
        first = labelled(app.date_input, "From").value
        labelled(app.number_input, "GPUs to book").set_value(1)
        labelled(app.time_input, "at").set_value(time(22, 0))
        labelled(app.date_input, "To").set_value(first + timedelta(days=1))
        labelled(app.time_input, "until").set_value(time(2, 0))
        labelled(app.selectbox, "Time zone").set_value("America/New_York")
        labelled(app.button, "Book").click().run()
        assert_clean(app)
        assert sorted(table(app, "note")["GPUs"]) == [1, 3]
        (night,) = [
            b
            for b in live.graphql("{ gpuBookings { gpus startsAt endsAt timeZone } }")["data"][
                "gpuBookings"
            ]
            if b["gpus"] == 1
        ]
        span = datetime.fromisoformat(night["endsAt"]) - datetime.fromisoformat(night["startsAt"])
        assert span == timedelta(hours=4) and night["timeZone"] == "America/New_York"


def test_a_page_reads_its_discussion_once_per_visit(
    team: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The threads the page drew are the ones it read: one Discussion request, not one for the
    page and another for the threads (the threads' own refreshes read it afresh)."""
    with caplog.at_level("INFO", logger="salon.access"):
        app = open_page("run", id=team["run"])
    assert_clean(app)
    asked = [r.getMessage() for r in caplog.records if r.name == "salon.access"]
    assert sum(" Discussion " in line for line in asked) == 1, asked
