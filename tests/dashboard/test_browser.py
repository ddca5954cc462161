"""The dashboard served by a real Streamlit process and opened in headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import ViewportSize, sync_playwright

from tests.conftest import LiveHub, free_port
from tests.processes import streamlit

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LAPTOP: ViewportSize = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def dashboard(demo_hub: LiveHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` against the demo hub; yields the dashboard's URL."""
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "SALON_URL": demo_hub.url, "SALON_TOKEN": demo_hub.token}
    with streamlit(ROOT / "dashboard" / "app.py", free_port(), env, log, ROOT) as url:
        yield url


def two_runs(hub: LiveHub) -> dict[str, str]:
    """Ids and names of two demo runs."""
    body = hub.graphql(
        '{ runs(project: "vision-defects", first: 2) '
        "{ ... on RunConnection { nodes { id name } } } }"
    )
    return {node["id"]: node["name"] for node in body["data"]["runs"]["nodes"]}


def test_compare_page_draws_curves_in_a_browser(
    dashboard: str, demo_hub: LiveHub, tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run `make system-deps` (or apt-get install chromium) "
        "so the browser tests can run."
    )
    runs = two_runs(demo_hub)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{dashboard}/compare?runs={','.join(runs)}")
            page.locator(".vega-embed svg .mark-line path").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # let the last charts paint before the screenshot
            page.screenshot(path=str(tmp_path / "compare.png"))
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            # The first chart has a line per run, named in its legend.
            first = page.locator(".vega-embed").first
            assert first.locator(".mark-line path").count() == 2
            legend = first.locator(".role-legend-label text")
            assert sorted(legend.all_text_contents()) == sorted(runs.values())
            # The settings view is drawn once its tab is opened, and the link names it.
            assert page.locator(".js-plotly-plot .parcoords").count() == 0
            page.get_by_role("tab", name="Settings against a result").click()
            page.locator(".js-plotly-plot .parcoords").first.wait_for(timeout=30_000)
            assert "view=Settings" in page.url
            page.screenshot(path=str(tmp_path / "compare-settings.png"))
            page.get_by_role("tab", name="Curves").click()

            # Dragging across a chart zooms in: the hub sends that range in full detail.
            summary = page.get_by_text("Steps ").filter(has_text=" to ").last
            assert "summarised" in (summary.text_content() or "")
            area = page.locator(".vega-embed .mark-line").first.bounding_box()
            assert area is not None
            left, right = area["x"] + area["width"] * 0.3, area["x"] + area["width"] * 0.5
            middle = area["y"] + area["height"] * 0.5
            page.mouse.move(left, middle)
            page.mouse.down()
            page.mouse.move(right, middle, steps=10)
            page.mouse.up()
            page.get_by_text("every point").wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "compare-zoomed.png"))
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


def test_a_file_dropped_on_the_datasets_page_becomes_a_profiled_version(
    dashboard: str, demo_hub: LiveHub, tmp_path: Path
) -> None:
    source = tmp_path / "field-trial.csv"
    source.write_text(
        "plot,yield_t_ha,variety\n"
        + "".join(
            f"P{i:03d},{4 + (i % 9) * 0.25:.2f},{('alba', 'rossa', 'verde')[i % 3]}\n"
            for i in range(600)
        )
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{dashboard}/datasets?project=churn-forecast")
            page.get_by_text("Upload a version").wait_for(timeout=60_000)
            page.get_by_label("Dataset name").fill("field-trial")
            page.locator('input[type="file"]').set_input_files(str(source))
            page.get_by_text("field-trial.csv").wait_for(timeout=30_000)
            page.get_by_role("button", name="Upload", exact=True).click()
            page.get_by_text("Version 1 stored: 600 rows.").wait_for(timeout=60_000)
            page.goto(f"{dashboard}/datasets?project=churn-forecast&dataset=field-trial")
            page.get_by_text("600 rows · 3 columns").wait_for(timeout=60_000)
            page.get_by_role("tab", name="Columns", exact=True).click()
            page.get_by_text("Look closer at").wait_for(timeout=30_000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "dataset-profile.png"))
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator(".js-plotly-plot").count() >= 1, "a distribution is drawn"
        finally:
            browser.close()


def test_reviewing_predictions_in_a_browser(dashboard: str, tmp_path: Path) -> None:
    """A reviewer's walk: open the review, say one prediction is right and one wrong (with the
    right answer), and see the count go up; the grid shows the verdicts."""
    import re

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{dashboard}/review")
            progress = page.get_by_text(re.compile(r"You have judged \d+ of 40 samples"))
            progress.wait_for(timeout=60_000)
            before = int(re.findall(r"judged (\d+)", progress.text_content() or "")[0])
            page.get_by_role("button", name="Correct", exact=True).click()
            page.get_by_text(f"You have judged {before + 1} of 40 samples").wait_for(timeout=30_000)
            page.get_by_role("button", name="Wrong", exact=True).click()
            answer = page.locator('[data-testid="stSelectbox"]').filter(has_text="The right answer")
            answer.wait_for(timeout=30_000)
            option = page.get_by_role("option").first
            for _ in range(5):  # the box may be redrawn once after it appears
                answer.locator("input").click()
                try:
                    option.wait_for(timeout=5_000)
                    break
                except PlaywrightTimeout:
                    continue
            option.click()
            page.get_by_role("button", name="Save", exact=True).click()
            page.get_by_text(f"You have judged {before + 2} of 40 samples").wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "review.png"))
            page.get_by_text("Grid").click()
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "review-grid.png"))
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        finally:
            browser.close()


def test_the_first_change_of_a_visit_says_it_was_done(dashboard: str) -> None:
    """A page that changes something says so in a toast and draws itself again. The first toast
    of a browser's visit was lost when the page reran at once (every time, in a bare probe)."""
    from playwright.sync_api import expect

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{dashboard}/activity")
            page.get_by_role("tab", name="What changed").click(timeout=60_000)
            page.get_by_role("button", name="Mark all as seen").click(timeout=30_000)
            toast = page.locator('[data-testid="stToast"]').filter(has_text="Marked as seen")
            expect(toast.first).to_be_visible(timeout=10_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


def test_a_comment_is_replied_to_and_edited_in_a_browser(
    dashboard: str, demo_hub: LiveHub, tmp_path: Path
) -> None:
    """A thread's reply box and a comment's edit box are drawn once opened (the threads poll
    the hub every 1.5 s, and drew every thread's forms each time): opening them draws them, and
    sending what was written in them closes them."""
    run_id = list(two_runs(demo_hub))[1]
    said = "Browser comment: the val loss turns up after step 900."
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{dashboard}/run?id={run_id}")
            page.get_by_label("Comment").first.fill(said, timeout=60_000)
            page.get_by_role("button", name="Comment").first.click()
            page.get_by_text(said).wait_for(timeout=30_000)
            # the new thread is the last one; its reply box is an expander called Reply
            reply = page.locator('[data-testid="stExpander"]').filter(has_text="Reply").last
            assert reply.get_by_label("Reply").count() == 0, "closed: no form drawn in it"
            reply.locator("summary").click()
            reply.get_by_label("Reply").fill("Early stopping at 900 then?", timeout=30_000)
            reply.get_by_role("button", name="Reply").click()
            page.get_by_text("Early stopping at 900 then?").wait_for(timeout=30_000)
            reply.get_by_label("Reply").wait_for(state="detached", timeout=30_000)  # sent: closed

            page.get_by_role("button", name="Edit").last.click()  # the reply's, the last one
            page.get_by_label("Your comment").fill("Early stopping at 1,000 then?", timeout=30_000)
            page.get_by_role("button", name="Save").click()
            bodies = page.locator('[data-testid="stHtml"]')
            bodies.filter(has_text="at 1,000 then?").wait_for(timeout=30_000)
            assert bodies.filter(has_text="at 900 then?").count() == 0
            page.get_by_label("Your comment").wait_for(state="detached", timeout=30_000)
            page.screenshot(path=str(tmp_path / "discussion.png"))

            # A part of a curve is offered under "About" once its box is opened.
            assert page.get_by_text("About", exact=True).count() == 0, "nothing to choose yet"
            part = page.locator('[data-testid="stExpander"]').filter(has_text="part of a curve")
            part.locator("summary").click()
            part.get_by_text("Steps", exact=True).wait_for(timeout=30_000)
            page.get_by_text("About", exact=True).wait_for(timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
