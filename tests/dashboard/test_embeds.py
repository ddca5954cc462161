"""Share links embedded in a wiki: a static page on another site frames them in headless
Chromium with third-party cookies blocked, as a Confluence or Notion page would."""

from __future__ import annotations

import asyncio
import functools
import html
import http.server
import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hub.clock import now
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.conftest import LiveHub, free_port
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.processes import streamlit

pytestmark = pytest.mark.slow

WIDER_THAN_THE_FRAME = """() => [document.documentElement,
    document.querySelector("[data-testid='stMain']")].map(e => e.scrollWidth - e.clientWidth)"""
WIKI, ELSEWHERE = "wiki.test", "elsewhere.test"  # other sites than the dashboard's 127.0.0.1


def serve_folder(folder: Path) -> tuple[int, http.server.ThreadingHTTPServer]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A folder of static pages served twice: as the allowed wiki and as another site."""
    folder = tmp_path_factory.mktemp("wiki")
    allowed_port, allowed = serve_folder(folder)
    other_port, other = serve_folder(folder)
    try:
        yield folder, f"http://{WIKI}:{allowed_port}", f"http://{ELSEWHERE}:{other_port}"
    finally:
        allowed.shutdown()
        other.shutdown()


@pytest.fixture(scope="module")
def embed_dashboard(
    demo_hub: LiveHub, wiki: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``streamlit run dashboard/serve.py`` (the frame policy in front), allowing the wiki;
    with no token of its own, as a wiki reader has none."""
    log = tmp_path_factory.mktemp("streamlit-embed") / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if k != "SALON_TOKEN"}
    env.update(
        {
            "SALON_URL": demo_hub.url,
            "SALON_EMBED_ORIGINS": wiki[1],
            "SALON_EMBED_REFRESH_SECONDS": "5",
        }
    )
    with streamlit(ROOT / "dashboard" / "serve.py", free_port(), env, log, ROOT) as url:
        yield url


CREATE = """mutation($i: ShareLinkInput!) { createShareLink(input: $i) {
  __typename ... on NewShareLink { url link { id } } ... on Error { message } } }"""


def share(hub: LiveHub, token: str, **values: Any) -> str:
    """A link made as the holder of ``token``; returns its secret."""
    response = httpx.post(
        f"{hub.url}/graphql",
        json={"query": CREATE, "variables": {"i": values}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    made = response.json()["data"]["createShareLink"]
    assert made["__typename"] == "NewShareLink", made
    return str(made["url"].split("link=")[1])


def demo_ids(hub: LiveHub) -> dict[str, Any]:
    body = hub.graphql(
        '{ runs(project: "vision-defects", first: 3) { ... on RunConnection { nodes { id name } } }'
        ' model(project: "vision-defects", name: "defect-detector") '
        "{ ... on Model { versions { id number } } } }"
    )["data"]
    return {"runs": body["runs"]["nodes"], "version": body["model"]["versions"][0]["id"]}


def blocked_cookies_profile(folder: Path) -> Path:
    """A Chromium profile that blocks third-party cookies (Settings → Privacy)."""
    (folder / "Default").mkdir(parents=True)
    prefs = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}
    (folder / "Default" / "Preferences").write_text(json.dumps(prefs))
    return folder


def frame_text(page: Page, frame_id: str, wanted: str) -> str:
    """The text of an iframe once ``wanted`` shows in it."""
    frame = page.frame_locator(f"#{frame_id}")
    try:
        frame.get_by_text(wanted).first.wait_for(state="attached", timeout=60_000)
    except PlaywrightTimeout:
        shown = frame.locator("body").inner_text(timeout=5_000)
        raise AssertionError(f"{wanted!r} never showed in #{frame_id}: {shown!r}") from None
    shown = str(frame.locator("body").inner_text())
    assert "Page not found" not in shown and "Traceback" not in shown, shown
    return shown


def test_a_wiki_page_embeds_live_views_and_refuses_bad_links(
    demo_hub: LiveHub, embed_dashboard: str, wiki: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, wiki_url, elsewhere_url = wiki
    ids = demo_ids(demo_hub)
    runs = ids["runs"]
    editor = person(demo_hub, "embed-editor", "editor", "vision-defects")
    leaver = person(demo_hub, "embed-leaver", "editor", "vision-defects")
    project = {"project": "vision-defects"}
    good = {
        "comparison": share(
            demo_hub,
            editor,
            view="RUN_COMPARISON",
            title="Val loss <this week>",
            runIds=[r["id"] for r in runs[:2]],
            metrics=["val/loss"],
            **project,
        ),
        "card": share(
            demo_hub,
            editor,
            view="MODEL_CARD",
            title="Defect detector card",
            modelVersionId=ids["version"],
            **project,
        ),
        "page": share(
            demo_hub, editor, view="WIKI_PAGE", title="Onboarding", slug="onboarding", **project
        ),
        "profile": share(
            demo_hub,
            editor,
            view="DATASET_PROFILE",
            title="Inspections profile",
            dataset="line-inspections",
            **project,
        ),
    }
    chart = {"view": "METRIC_CHART", "runIds": [runs[2]["id"]], "metrics": ["val/loss"], **project}
    expired = share(demo_hub, editor, title="Expired chart", **chart)
    revoked = share(demo_hub, editor, title="Revoked chart", **chart)
    orphaned = share(demo_hub, leaver, title="Orphaned chart", **chart)
    listed = demo_hub.graphql('{ shareLinks(project: "vision-defects") { id title } }')["data"][
        "shareLinks"
    ]
    by_title = {link["title"]: link["id"] for link in listed}
    asyncio.run(
        demo_hub.store.db.write(
            lambda cur: cur.execute(
                "UPDATE share_links SET expires_at = ? WHERE id = ?",
                [(now() - timedelta(hours=1)).replace(tzinfo=None), by_title["Expired chart"]],
            )
        )
    )
    demo_hub.graphql(
        "mutation($id: ID!) { revokeShareLink(id: $id) { __typename } }",
        {"id": by_title["Revoked chart"]},
    )
    asyncio.run(
        access.revoke_role(demo_hub.store, SYSTEM, "vision-defects", "user", "embed-leaver")
    )

    def src(secret: str, extra: str = "") -> str:
        return html.escape(f"{embed_dashboard}/shared?link={secret}&embed=true{extra}")

    frames = {name: src(secret) for name, secret in good.items()}
    frames |= {
        "expired": src(expired),
        "revoked": src(revoked),
        "orphaned": src(orphaned),
        "tampered": src(good["comparison"][:-4] + "AAAA"),
        "scope": src(good["comparison"], f"&runs={runs[2]['id']}"),
    }
    iframes = "".join(
        f'<iframe id="{name}" src="{url}" width="600" height="520"></iframe>'
        for name, url in frames.items()
    )
    (folder / "release-notes.html").write_text(
        f"<!doctype html><html><body><h1>Release notes</h1>{iframes}</body></html>"
    )
    (folder / "app.html").write_text(  # the rest of the app, on the allowed wiki
        f'<!doctype html><html><body><iframe id="app" src="{embed_dashboard}/settings" '
        'width="600" height="520"></iframe></body></html>'
    )
    (folder / "elsewhere.html").write_text(
        f'<!doctype html><html><body><iframe id="stolen" src="{frames["comparison"]}" '
        'width="600" height="520"></iframe></body></html>'
    )

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(blocked_cookies_profile(tmp_path / "profile")),
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                f"--host-resolver-rules=MAP {WIKI} 127.0.0.1, MAP {ELSEWHERE} 127.0.0.1",
            ],
            viewport={"width": 1300, "height": 900},
        )
        try:
            page = context.new_page()
            page.goto(f"{wiki_url}/release-notes.html")
            comparison = frame_text(page, "comparison", "Open in Salon")
            assert "Val loss <this week>" in comparison
            chart = page.frame_locator("#comparison").locator(".vega-embed .role-legend-label text")
            chart.first.wait_for(timeout=60_000)
            assert sorted(chart.all_text_contents()) == sorted(r["name"] for r in runs[:2])
            card = frame_text(page, "card", "Open in Salon")
            assert "Defect detector card" in card and "Intended use" in card
            assert "Welcome to vision-defects" in frame_text(page, "page", "Open in Salon")
            profile = frame_text(page, "profile", "Open in Salon")
            assert "4,500 rows" in profile and "its profile is not shared" in profile
            assert page.frame_locator("#profile").locator("[data-testid='stDataFrame']").count()
            assert "Embed this view" not in profile, "an embed shows the view alone"
            for name, message in [
                ("expired", "This link has expired"),
                ("revoked", "This link was revoked"),
                ("orphaned", "This link no longer works"),
                ("tampered", "This link is not valid"),
                ("scope", "asks for more than its link shares"),
            ]:
                shown = frame_text(page, name, message)
                frame = page.frame_locator(f"#{name}")
                assert frame.locator(".vega-embed").count() == 0, name
                assert "chart" not in shown.lower() or name == "scope", (name, shown)
            for name, secret in good.items():  # readable at 600 px: nothing runs off the side
                frame = next(f for f in page.frames if secret in f.url)
                overflow = frame.evaluate(WIDER_THAN_THE_FRAME)
                assert max(overflow) <= 0, (name, overflow)
            page.screenshot(path=str(tmp_path / "wiki.png"), full_page=True)
            # The open page learns of a revoke at its next redraw, without a reload.
            revoked_now = by_title["Val loss <this week>"]
            demo_hub.graphql(
                "mutation($id: ID!) { revokeShareLink(id: $id) { __typename } }",
                {"id": revoked_now},
            )
            frame_text(page, "comparison", "This link was revoked")
            # Streamlit removes the previous run's elements when the redraw ends, a moment after
            # the message shows: wait for the chart to leave rather than look once.
            expect(page.frame_locator("#comparison").locator(".vega-embed")).to_have_count(
                0, timeout=30_000
            )
            # Nothing was stored for the dashboard's site: the views needed no cookie.
            assert context.cookies(embed_dashboard) == []

            # A share page on a site not allowed, and any other page of the dashboard even on
            # the allowed wiki, are refused by the browser.
            for address, frame_id, policy in [
                (f"{elsewhere_url}/elsewhere.html", "stolen", f"frame-ancestors 'self' {wiki_url}"),
                (f"{wiki_url}/app.html", "app", "frame-ancestors 'none'"),
            ]:
                other = context.new_page()
                with other.expect_console_message(
                    lambda message: "frame-ancestors" in message.text, timeout=30_000
                ) as refusal:
                    other.goto(address)
                said = refusal.value.text
                assert "has been blocked" in said and f'"{policy}"' in said, said
                framed = other.frame_locator(f"#{frame_id}")
                assert framed.locator("[data-testid='stApp']").count() == 0, frame_id
        finally:
            context.close()
