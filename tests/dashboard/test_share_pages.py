"""Sharing from the dashboard (AppTest against a live demo hub): the Share button on a page,
the share page a link opens, and the project's links on the settings page."""

from __future__ import annotations

import httpx
import pytest
import streamlit as st

from tests.api.test_datasets import person
from tests.conftest import LiveHub
from tests.dashboard.test_pages import (
    assert_clean,
    curve_charts,
    curve_rows,
    hub_env,
    labelled,
    open_page,
    run_ids,
)

__all__ = ["hub_env"]  # the fixture, used by name


def make_link(app, title: str):  # type: ignore[no-untyped-def]
    """Fill the Share popover's form on ``app`` and press Create link."""
    labelled(app.text_input, "Title").input(title)
    labelled(app.button, "Create link").click().run()
    assert_clean(app)
    codes = [code.value for code in app.code]
    embed = next(code for code in codes if code.startswith("<iframe"))
    url = next(code for code in codes if code.startswith("http") and "/shared?link=" in code)
    return embed, url


def test_a_comparison_is_shared_opened_listed_and_revoked(hub_env: LiveHub) -> None:
    runs = run_ids(hub_env, "vision-defects", 2)
    app = open_page("compare", project="vision-defects", runs=",".join(r for r, _ in runs))
    assert_clean(app)
    embed, url = make_link(app, "Compare for the <wiki>")
    assert 'width="600"' in embed and "embed=true" in embed and "&lt;wiki&gt;" in embed
    secret = url.split("link=")[1]

    # The share page shows the comparison, and the embed code again.
    shared = open_page("shared", link=secret)
    assert_clean(shared)
    assert shared.title[0].value == "Compare for the <wiki>"
    curves = curve_charts(shared)
    assert len(curves) == 2  # the metrics the comparison showed
    for curve in curves:
        assert {row["run"] for row in curve_rows(curve)} == {name for _, name in runs}
    assert any(code.value.startswith("<iframe") for code in shared.code)

    # Asking the share page for more than the link gives a refusal, not other data.
    more = open_page("shared", link=secret, runs="someone-elses-run")
    assert "asks for more than its link shares" in more.error[0].value
    assert not more.get("vega_lite_chart")

    settings = open_page("settings")
    assert_clean(settings)
    settings.selectbox(key="share-links-project").select("vision-defects").run()
    listed = next(d.value for d in settings.dataframe if "shows" in d.value.columns)
    assert "Compare for the <wiki>" in list(listed["title"])
    revoke = labelled(settings.selectbox, "Revoke a link")
    revoke.select(next(o for o in revoke.options if o.startswith("Compare for the <wiki>"))).run()
    [b for b in settings.button if b.label == "Revoke"][-1].click().run()  # the links' one
    assert_clean(settings)

    gone = open_page("shared", link=secret)
    assert "This link was revoked" in gone.error[0].value
    assert not gone.get("vega_lite_chart")
    view = httpx.get(f"{hub_env.url}/api/share/view", headers={"X-Salon-Link": secret})
    assert view.status_code == 410


def test_a_wiki_page_is_shared_and_a_viewer_cannot_share(
    hub_env: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page("wiki", project="vision-defects", slug="decisions")
    assert_clean(app)
    _, url = make_link(app, "Decisions, for the release notes")
    shared = open_page("shared", link=url.split("link=")[1])
    assert_clean(shared)
    assert "Baseline for the quarterly review" in " ".join(h.proto.body for h in shared.get("html"))
    # Someone who may only read the project is told so, and no link is made.
    monkeypatch.setenv("SALON_TOKEN", person(hub_env, "share-viewer", "viewer", "vision-defects"))
    st.cache_data.clear()
    app = open_page("wiki", project="vision-defects", slug="decisions")
    labelled(app.text_input, "Title").input("Not mine to share")
    labelled(app.button, "Create link").click().run()
    assert any("editor" in error.value for error in app.error), [e.value for e in app.error]
    titles = hub_env.graphql('{ shareLinks(project: "vision-defects") { title } }')
    assert "Not mine to share" not in str(titles)
