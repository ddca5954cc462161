"""Signing in to the dashboard in headless Chromium: at the hub's own provider, and at a
foreign OpenID Connect provider (oidc-provider-mock, standing in for Okta or Keycloak)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hub.auth.clients import ensure_dashboard_client, write_dashboard_secrets
from hub.cli.up import DASHBOARD_ENTRY
from hub.services.identity.tokens import create_admin_token_sync
from hub.services.policy.keep import FolderKeep
from hub.settings import Settings
from hub.store import open_store
from tests.conftest import free_port, graphql_call, listening_socket, serve_in_thread
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, LAPTOP, ROOT
from tests.demo_store import DEMO_PASSWORD, with_demo_team
from tests.processes import stop, streamlit, wait_until_up

pytestmark = pytest.mark.slow
WAIT = 60_000


@dataclasses.dataclass
class Stack:
    hub: str
    dashboard: str
    data_dir: Path
    token: str = ""  # an admin API token, for setting the scene


def start_stack(data_dir: Path, **extra: str) -> Iterator[Stack]:
    """A hub with the demo team, and a dashboard that signs people in (as `salon up` runs)."""
    sock = listening_socket()  # held until the hub serves on it
    port, dashboard_port = int(sock.getsockname()[1]), free_port()
    settings = Settings(
        data_dir=data_dir,
        port=port,
        url=f"http://127.0.0.1:{port}",
        dashboard_port=dashboard_port,
        dashboard_url=f"http://127.0.0.1:{dashboard_port}",
        **extra,  # type: ignore[arg-type]
    )
    with_demo_team(data_dir)
    store = open_store(settings.database_path)
    token = create_admin_token_sync(store, "tests")
    secrets_file = write_dashboard_secrets(
        settings, ensure_dashboard_client(store, settings), FolderKeep(settings.data_dir)
    )
    server, thread = serve_in_thread(settings, store, sock)
    log = data_dir / "streamlit.log"
    env = {**os.environ, "SALON_URL": settings.url, "STREAMLIT_SECRETS_FILES": str(secrets_file)}
    env.pop("SALON_TOKEN", None)
    try:
        with streamlit(DASHBOARD_ENTRY, dashboard_port, env, log, ROOT):  # as `salon up` runs it
            yield Stack(settings.url, settings.dashboard_url, data_dir, token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make system-deps`."
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from start_stack(tmp_path_factory.mktemp("signin"))


def sign_in(page: Page, stack: Stack, name: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(stack.dashboard)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.hub}/login**", timeout=WAIT)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def no_errors(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_domain_expert_signs_in_sees_her_projects_and_makes_a_token(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=LAPTOP)
    # A wrong password keeps her on the hub's page with a message, no JavaScript needed.
    sign_in(page, stack, "farah.haddad", "not-my-password")
    page.get_by_role("alert").wait_for(timeout=WAIT)
    assert "do not match" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=WAIT)
    assert "Farah Haddad" in page.get_by_text("Signed in as").inner_text()
    page.get_by_text("vision-defects").first.wait_for(timeout=WAIT)
    assert page.get_by_text("churn-forecast").count() == 0, "not her project"
    assert page.get_by_role("link", name="Audit trail").count() == 0
    no_errors(page)
    page.screenshot(path=str(tmp_path / "home-signed-in.png"))

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Name").fill("my notebook")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text("shown only this once").wait_for(timeout=WAIT)
    shown = page.locator("code").filter(has_text=re.compile(r"^salon_[\w-]{20,}$"))
    secret = shown.first.inner_text().strip()
    seen = graphql_call(stack.hub, secret, "{ projects { name } }")["data"]["projects"]
    assert [p["name"] for p in seen] == ["vision-defects"]
    no_errors(page)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
    page.close()


def test_two_people_comment_and_see_each_other_s_comments(stack: Stack, browser: Browser) -> None:
    """Ana and Dmitri, each in their own browser, open the same run; what one writes appears
    for the other without reloading."""
    found = graphql_call(
        stack.hub,
        stack.token,
        '{ runs(project: "vision-defects", first: 1) '
        "{ ... on RunConnection { nodes { id name } } } }",
    )
    run = found["data"]["runs"]["nodes"][0]
    pages = {}
    for name in ("ana.silva", "dmitri.volkov"):
        context = browser.new_context(viewport=LAPTOP)  # separate cookies: two people
        page = context.new_page()
        sign_in(page, stack, name)
        page.get_by_text("Signed in as").wait_for(timeout=WAIT)
        page.goto(f"{stack.dashboard}/run?id={run['id']}")
        page.get_by_role("heading", name=run["name"]).wait_for(timeout=WAIT)
        page.get_by_text("No comments yet").wait_for(timeout=WAIT)
        pages[name] = page
    ana, dmitri = pages["ana.silva"], pages["dmitri.volkov"]

    ana.get_by_label("Comment").fill("Is the **learning rate** too high here? @dmitri.volkov")
    ana.get_by_role("button", name="Comment").click()
    dmitri.get_by_text("Is the learning rate too high here?").wait_for(timeout=10_000)
    assert dmitri.locator("strong", has_text="learning rate").count() == 1
    assert dmitri.locator("span.mention", has_text="@dmitri.volkov").count() == 1

    dmitri.get_by_text("Reply").first.click()
    dmitri.get_by_label("Reply").fill("Yes, halve it.")
    dmitri.get_by_role("button", name="Reply").last.click()
    ana.get_by_text("Yes, halve it.").wait_for(timeout=10_000)
    for page in (ana, dmitri):
        no_errors(page)
        page.context.close()


def test_a_compliance_officer_reads_the_audit_trail(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, stack, "hana.kim")
    page.get_by_role("link", name="Audit trail").click()
    page.get_by_text("looking at this page is recorded").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Show").click()
    page.get_by_role("button", name="Export as CSV").wait_for(timeout=WAIT)
    # The button shows before the page's script ends; clicked then, under a loaded suite, the
    # file once never came (30 s). A person, too, clicks once the page is done.
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=WAIT
    )
    no_errors(page)
    page.screenshot(path=str(tmp_path / "audit.png"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith('"seq","occurred_at"') and "signin" in text
    page.close()


# A foreign provider ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """oidc-provider-mock on its own port; the hub trusts it and the dashboard signs in there."""
    port = free_port()
    provider = f"http://127.0.0.1:{port}"
    zoe = {
        "sub": "zoe-42",
        "preferred_username": "zoe",
        "name": "Zoe External",
        "email": "zoe@example.com",
        "groups": ["vision-team"],
    }
    folder = tmp_path_factory.mktemp("foreign")
    log = folder / "provider.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--user-claims",
                json.dumps(zoe),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"{provider}/.well-known/openid-configuration", process, log=log)
        yield from start_stack(
            folder,
            oidc_discovery_url=f"{provider}/.well-known/openid-configuration",
            oidc_client_id="salon-dashboard-at-idp",
            oidc_client_secret="any-secret",
            oidc_audience="salon-dashboard-at-idp",
            oidc_forward_token="id",  # this provider's access tokens are not JWTs
        )
    finally:
        stop(process)


def test_someone_from_a_foreign_provider_signs_in_and_gets_their_groups_roles(
    foreign: Stack, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page(viewport=LAPTOP)
    page.goto(foreign.dashboard)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill("zoe-42")
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.get_by_text("Signed in as").wait_for(timeout=WAIT)
    assert "Zoe External" in page.get_by_text("Signed in as").inner_text()
    # Her provider says she is in vision-team, which is an editor of vision-defects.
    page.get_by_text("vision-defects").first.wait_for(timeout=WAIT)
    assert page.get_by_text("support-llm").count() == 0
    no_errors(page)
    page.screenshot(path=str(tmp_path / "foreign-signed-in.png"))
    page.close()
