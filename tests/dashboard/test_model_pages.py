"""The Models page through AppTest against a live hub with the demo team's models: a domain
expert sees what is in production and why the newest version may not go there yet, approves
it, and is not offered to move the alias herself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import streamlit as st

from dashboard import hub_client
from tests.api.test_discussions import person_token
from tests.conftest import LiveHub
from tests.dashboard.test_pages import assert_clean, labelled, open_page


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def test_an_expert_reviews_the_newest_version(
    demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", person_token(demo_hub, "farah.haddad"))
    app = open_page("models", project="vision-defects", model="defect-detector", version="3")
    assert_clean(app)
    badges = " ".join(m.value for m in app.markdown)
    assert "production → version 2" in badges and "staging → version 2" in badges
    versions = next(d.value for d in app.dataframe if "ready" in d.value.columns)
    assert list(versions["version"]) == [3, 2, 1]
    assert list(versions["ready"]) == ["no", "yes", "yes"]
    assert [w.value for w in app.warning] == ["Not ready for production: 0 of 1 approval(s)."]
    shown = " ".join(m.value for m in app.markdown)
    assert "**inputs compatible with production**" in shown
    assert "within the allowed 0.01" in shown

    labelled(app.text_area, "Your review").input("Colour augmentation helps on line B too.")
    asked: list[str] = []
    post = hub_client._post

    def counted(url: str, token: str, operation: str, variables: dict[str, Any]) -> Any:
        asked.append(operation)
        return post(url, token, operation, variables)

    monkeypatch.setattr(hub_client, "_post", counted)
    labelled(app.button, "Approve").click().run()
    assert_clean(app)
    # What the page had read before and a review cannot change is still cached, for everyone.
    assert not {"Me", "Projects", "UnreadCount"} & set(asked), asked
    assert [s.value for s in app.success] == ["Version 3 may become production."]
    assert any("Colour augmentation helps" in h.proto.body for h in app.get("html"))

    headings = [m.value for m in app.markdown if m.value.startswith("#### ")]
    assert "#### Human review of its predictions" in headings and "#### Intended use" in headings
    assert app.get("download_button"), "the card, as Markdown"
    links = [link.proto.label for link in app.get("page_link")]
    assert any(
        label.startswith("detector-v3-predictions version 1: judged correct") for label in links
    ), links

    # A commenter is shown no control she cannot use, and why (issue 17, item 24: the button
    # was there and its click was refused).
    labels = {b.label for b in app.button}
    assert not {"Point production here", "Run the checks again"} & labels, labels
    assert any(
        "Moving an alias or running the checks again needs the editor role or above in "
        "vision-defects; you are a commenter." in c.value
        for c in app.caption
    )


def test_an_expert_judges_predictions_one_at_a_time_and_in_a_grid(
    demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", person_token(demo_hub, "farah.haddad"))
    app = open_page("review")
    assert_clean(app)
    assert labelled(app.selectbox, "Review").value is not None
    progress = app.get("progress")[0].proto
    assert progress.text == "You have judged 14 of 40 samples"
    assert [s.value for s in app.subheader] == ["Sample 15 of 40"]
    shown = next(d.value for d in app.dataframe if "what" in d.value.columns)
    assert "inspector_verdict" not in set(shown["what"]), "the truth is not shown to reviewers"
    assert "prediction" not in set(shown["what"])
    # The part's picture, fetched through the hub (its address was all a reviewer saw).
    assert not app.warning, [w.value for w in app.warning]
    (picture,) = app.get("image")
    assert picture.captions == ["image"]
    said = next(m for m in app.metric if m.label == "The model says").value

    labelled(app.button, "Correct").click().run()
    assert_clean(app)
    assert app.get("progress")[0].proto.text == "You have judged 15 of 40 samples"
    labelled(app.button, "Wrong").click().run()
    answers = labelled(app.selectbox, "The right answer")
    assert said not in answers.options, "the other answers"
    answers.set_value(answers.options[0]).run()
    labelled(app.text_input, "Comment (optional)").input("Hairline scratch near the edge.")
    labelled(app.button, "Save").click().run()
    assert_clean(app)
    assert app.get("progress")[0].proto.text == "You have judged 16 of 40 samples"

    app.get("button_group")[0].set_value("Grid").run()
    assert_clean(app)
    grid = next(d.value for d in app.dataframe if "correct?" in d.value.columns)
    assert len(grid) == 20 and list(grid["sample"][:2]) == [1, 2]
    assert grid["correct?"][:16].notna().all() and grid["correct?"][16:].isna().all()
    done = {m.label: m.value for m in app.metric}
    # Her own count beside everyone's, each saying what it counts (14 of 40 beside 9 of 40
    # read as a contradiction).
    assert done["Samples with 2 verdicts"].endswith("of 40")
    needs = "Each sample needs 2 verdicts from different reviewers: "
    assert any(c.value.startswith(needs) for c in app.caption)
    assert "Publish the reviewed labels" not in {b.label for b in app.button}, "for editors"


def test_a_run_page_shows_the_models_made_from_it(
    demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = demo_hub.graphql(
        '{ model(project: "vision-defects", name: "defect-detector") { '
        "... on Model { versions { number runId } } } }"
    )
    second = next(v for v in found["data"]["model"]["versions"] if v["number"] == 2)
    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", demo_hub.token)
    app = open_page("run", id=second["runId"])
    assert_clean(app)
    labels = [link.proto.label for link in app.get("page_link")]
    assert "registered as defect-detector version 2 (production, staging)" in labels


def test_an_editor_moves_staging_but_only_a_maintainer_moves_production(
    demo_hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.api.test_datasets import person

    monkeypatch.setenv("SALON_URL", demo_hub.url)
    monkeypatch.setenv("SALON_TOKEN", person(demo_hub, "eddie-editor", "editor", "vision-defects"))
    app = open_page("models", project="vision-defects", model="defect-detector", version="3")
    assert_clean(app)
    assert "production" not in labelled(app.selectbox, "Alias").options
    assert {"Point staging here", "Run the checks again"} <= {b.label for b in app.button}
    assert any("production move only by a maintainer" in c.value for c in app.caption)
    monkeypatch.setenv("SALON_TOKEN", demo_hub.token)
    st.cache_data.clear()
    admin = open_page("models", project="vision-defects", model="defect-detector", version="3")
    assert "production" in labelled(admin.selectbox, "Alias").options
