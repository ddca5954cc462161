"""``python -m bench.run --only pages``: the dashboard's pages in headless Chromium, timed as a
person sees them, on the demo team's data.

A hub of its own is loaded with ``salon demo`` and started with access lines on, the dashboard
(``streamlit run dashboard/app.py``) signs in to it with the admin token, and Debian's Chromium
opens the Run, Compare, Datasets and Models pages, then posts a comment on a run and approves a
model version. Each is timed twice: to its main content drawn (a page's heading and chart, or
an action's result on screen), and to settled (Streamlit's script done, the page idle). The
first visit of a page and a second one are both timed: Streamlit reruns the whole script on
every visit and interaction, so the second says what its caches save. Each page is opened from
the home page of a browser context of its own, so that its first visit fetches what it draws
with (a chart library) rather than finding it cached by a page before. Each action is timed
twice too: the first of a visit also fetches the scripts that draw its answer, the second does
not.

Each row says which hub requests the page waited on: the GraphQL operations in the hub's
access lines while it loaded, with their count and the hub's own milliseconds.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bench import servers
from bench.report import Result
from bench.workloads import Bench

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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
LAPTOP = {"width": 1366, "height": 768}
PAGE_TARGET_S = 2.0  # a page's main content
ACTION_TARGET_S = 1.0  # an action's result
QUIET_S = 0.5  # no script running for this long: the page has settled
PATIENCE_MS = 120_000  # a page that takes longer has failed, not been slow
PAGE_VISITS = ("first visit", "again")
COMMENT, APPROVAL = "Post a comment on a run", "Approve a model version"
ACTIONS = (COMMENT, APPROVAL)
# The first action of a browser's visit also fetches the scripts that draw its answer (a
# toast's, a comment's HTML), which a browser then keeps (Streamlit serves them immutable).
ACTION_VISITS = ("result shown, first of a visit", "result shown, again")
ACCESS_LINE = re.compile(r"POST /graphql (?P<operation>[\w,?]+) (?P<status>\d+) (?P<ms>\d+) ms")


@dataclasses.dataclass(frozen=True)
class Demo:
    """What the pages open: a run, three runs to compare, a dataset and a model version."""

    project: str
    run_id: str
    run_name: str
    compared: list[str]
    dataset_project: str
    dataset: str
    model_project: str
    model: str
    version: int


@dataclasses.dataclass
class Timing:
    drawn: float
    settled: float
    requests: collections.Counter[str]
    hub_ms: int


def _graphql(url: str, token: str, query: str, variables: dict[str, Any]) -> Any:
    answer = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer.raise_for_status()
    body = answer.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"][0]["message"])
    return body["data"]


def _demo(url: str, token: str) -> Demo:
    """The demo's busiest project and its finished runs, a dataset and a model version."""
    projects = _graphql(url, token, "{ projects { name } }", {})["projects"]
    by_runs = []
    for project in projects:
        found = _graphql(
            url,
            token,
            "query($p: String) { runs(project: $p, filter: \"status = 'finished'\", first: 3) "
            "{ ... on RunConnection { totalCount nodes { id name } } } }",
            {"p": project["name"]},
        )["runs"]
        by_runs.append((found["totalCount"], project["name"], found["nodes"]))
    _, project, runs = max(by_runs)
    datasets = [
        (p["name"], d["name"])
        for p in projects
        for d in _graphql(
            url, token, "query($p: String!) { datasets(project: $p) { name } }", {"p": p["name"]}
        )["datasets"]
    ]
    models = [
        (p["name"], m["name"], m["versions"][-1]["number"])
        for p in projects
        for m in _graphql(
            url,
            token,
            "query($p: String!) { models(project: $p) { name versions { number } } }",
            {"p": p["name"]},
        )["models"]
        if m["versions"]
    ]
    if not (runs and datasets and models):
        raise RuntimeError("the demo has no finished runs, datasets or model versions")
    return Demo(
        project,
        runs[0]["id"],
        runs[0]["name"],
        [r["id"] for r in runs],
        *datasets[0],
        *models[0],
    )


class AccessLog:
    """The hub's access lines written since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def since(self) -> tuple[collections.Counter[str], int]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
            self.offset = log.tell()
        operations: collections.Counter[str] = collections.Counter()
        total = 0
        for match in ACCESS_LINE.finditer(text):
            operations[match["operation"]] += 1
            total += int(match["ms"])
        return operations, total


def _settled(page: Page) -> None:
    """Until no Streamlit script has run for QUIET_S (its status widget shows while one runs)."""
    running = page.locator('[data-testid="stStatusWidget"]')
    quiet_since = time.perf_counter()
    deadline = quiet_since + PATIENCE_MS / 1000
    while time.perf_counter() < deadline:
        if running.count():
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= QUIET_S:
            return
        page.wait_for_timeout(50)
    raise TimeoutError("the page was still running its script after two minutes")


def _timed(
    page: Page, log: AccessLog, act: Callable[[], None], drawn: Callable[[], None]
) -> Timing:
    log.since()  # what came before is not this page's
    started = time.perf_counter()
    act()
    drawn()
    drawn_at = time.perf_counter() - started
    _settled(page)
    settled_at = time.perf_counter() - started - QUIET_S
    time.sleep(0.2)  # the last access lines are written once their answers are sent
    requests, hub_ms = log.since()
    return Timing(drawn_at, max(settled_at, drawn_at), requests, hub_ms)


def _go(page: Page, address: str) -> None:
    page.goto(address)


def _opened(browser: Browser, dashboard: str) -> Page:
    """A page of a new browser context (its own cache: nothing another page downloaded) on the
    dashboard's home page: the first visit starts the session, which is no page's cost."""
    page = browser.new_context(viewport=LAPTOP).new_page()  # type: ignore[arg-type]
    page.goto(dashboard)
    page.get_by_text("Signed in as").wait_for(timeout=PATIENCE_MS)
    _settled(page)
    return page


def _walk(browser: Browser, dashboard: str, demo: Demo, log: AccessLog) -> dict[str, list[Timing]]:
    """Every page twice, each from the home page of a browser context of its own (so that no
    page is timed with what another one downloaded, such as a chart library), then the two
    actions; timings by row name."""

    def visible(selector: str) -> Callable[[], None]:
        return lambda: page.locator(selector).first.wait_for(timeout=PATIENCE_MS)

    def text(words: str) -> Callable[[], None]:
        return lambda: page.get_by_text(words).first.wait_for(timeout=PATIENCE_MS)

    chart = ".vega-embed svg .mark-line path"  # a curve drawn (every page draws curves so)
    opened: dict[str, tuple[str, Callable[[], None]]] = {
        "Run page (heading and curves)": (f"/run?id={demo.run_id}", visible(chart)),
        "Compare page, 3 runs (curves)": (
            f"/compare?project={demo.project}&runs={','.join(demo.compared)}",
            visible(chart),
        ),
        "Datasets page (a dataset's profile)": (
            f"/datasets?project={demo.dataset_project}&dataset={demo.dataset}",
            text(" rows · "),
        ),
        "Models page (a version)": (
            f"/models?project={demo.model_project}&model={demo.model}&version={demo.version}",
            lambda: page.get_by_role("tab", name="Checks").wait_for(timeout=PATIENCE_MS),
        ),
    }
    timings: dict[str, list[Timing]] = collections.defaultdict(list)
    for name, (path, drawn) in opened.items():
        page = _opened(browser, dashboard)
        for _ in range(2):
            timings[name].append(
                _timed(page, log, functools.partial(_go, page, dashboard + path), drawn)
            )
        page.context.close()

    page = _opened(browser, dashboard)
    page.goto(f"{dashboard}/run?id={demo.run_id}")
    page.get_by_label("Comment").first.wait_for(timeout=PATIENCE_MS)
    _settled(page)

    def comment(said: str) -> None:
        page.get_by_label("Comment").first.fill(said)
        page.get_by_role("button", name="Comment").first.click()

    for _ in range(2):
        said = f"Bench comment {time.time_ns()}: the curve flattens after step 600."
        timed = _timed(page, log, functools.partial(comment, said), text(said))
        timings[COMMENT].append(timed)

    page.goto(
        f"{dashboard}/models?project={demo.model_project}&model={demo.model}&version={demo.version}"
    )
    page.get_by_role("tab", name=re.compile("Reviews")).click()
    page.get_by_label("Your review").wait_for(timeout=PATIENCE_MS)
    _settled(page)

    def approve() -> None:
        page.get_by_label("Your review").fill("Looked at the checks and the curves: fine.")
        page.get_by_role("button", name="Approve").click()

    # The page answers with a toast: the words "approved" are also in the version's hidden
    # tabs (its card, earlier reviews), so a text match alone may find those first.
    approved = page.locator('[data-testid="stToast"]').filter(has_text="Approved").first
    for _ in range(2):
        approved.wait_for(state="detached", timeout=PATIENCE_MS)  # the last one's toast gone
        timings[APPROVAL].append(
            _timed(page, log, approve, lambda: approved.wait_for(timeout=PATIENCE_MS))
        )
    return timings


@contextmanager
def _stack(workdir: Path) -> Iterator[tuple[str, str, str, Path]]:
    """A demo hub with access lines on and a dashboard signed in to it; yields the
    dashboard's address, the hub's address and token, and the hub's log."""
    env = {**os.environ, "SALON_DATA_DIR": str(workdir / "salon")}
    salon = Path(sys.executable).parent / "salon"
    subprocess.run([str(salon), "demo"], env=env, check=True, capture_output=True)
    hub, token = servers.start_salon(workdir, SALON_LOG_LEVEL="info")
    with hub:
        hub.wait_healthy()
        with servers.start_dashboard(workdir, hub.url, token) as dashboard:
            dashboard.wait_healthy()
            yield dashboard.url, hub.url, token, hub.log_path


def _row(name: str, timing: Timing, visit: str, target: float) -> Result:
    waited = ", ".join(
        f"{operation} x{count}" if count > 1 else operation
        for operation, count in timing.requests.most_common()
    )
    return Result(
        f"{name}, {visit}",
        "s",
        False,
        round(timing.drawn, 2),
        None,
        f"≤ {target:g} s",
        target,
        detail=f"settled after {timing.settled:.1f} s; waited on {sum(timing.requests.values())} "
        f"hub requests, {timing.hub_ms} ms in the hub: {waited or 'none'}",
    )


def pages(bench: Bench) -> list[Result]:
    """Each page's first and second visit, and the two actions."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make system-deps` first")
    from playwright.sync_api import sync_playwright

    workdir = bench.workdir / "pages"
    workdir.mkdir(parents=True, exist_ok=True)
    with _stack(workdir) as (dashboard, url, token, log_path), sync_playwright() as playwright:
        demo = _demo(url, token)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            timings = _walk(browser, dashboard, demo, AccessLog(log_path))
        finally:
            browser.close()
    results = []
    for name, measured in timings.items():
        target, visits = (
            (ACTION_TARGET_S, ACTION_VISITS) if name in ACTIONS else (PAGE_TARGET_S, PAGE_VISITS)
        )
        results += [_row(name, m, visit, target) for m, visit in zip(measured, visits, strict=True)]
    return results
