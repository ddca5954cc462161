"""What a share link costs: ``python -m bench.share_links``.

No other tool serves live, access-checked views to a wiki, so this is not a side-by-side
workload of ``bench.run``: it reports Salon's own latencies, and the cost of reading through a
link against reading the same thing with one's own token. It starts a hub on the demo data
(uvicorn in this process, a real DuckDB file in a temporary folder), makes a comparison link of
4 runs x 2 metrics as an editor, and times each request with one ``httpx`` client.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.test_datasets import person
from tests.conftest import start_hub

RUNS_QUERY = (
    '{ runs(project: "vision-defects", first: 4) { ... on RunConnection { nodes { id } } } }'
)
CREATE = """mutation($i: ShareLinkInput!) { createShareLink(input: $i) {
  ... on NewShareLink { url } ... on Error { message } } }"""
DOCUMENT = (Path(__file__).parents[1] / "hub" / "api" / "share_views.graphql").read_text()


def median_ms(call: Callable[[], object], times: int) -> float:
    call()  # warm
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(url: str, editor: str, runs: list[str], metrics: list[str]) -> list[tuple[str, float]]:
    """Median times of each request against the hub at ``url``, for a link made by ``editor``."""
    with httpx.Client(base_url=url, timeout=120) as client:
        wanted = {
            "view": "RUN_COMPARISON",
            "project": "vision-defects",
            "title": "bench",
            "runIds": runs,
            "metrics": metrics,
        }
        answer = client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {editor}"},
            json={"query": CREATE, "variables": {"i": wanted}},
        )
        made = answer.json()["data"]["createShareLink"]
        page, secret = made["url"], made["url"].split("link=")[1]
        ids = ", ".join(f"'{r}'" for r in runs)
        own = {
            "query": DOCUMENT,
            "operationName": "SharedCurves",
            "variables": {
                "project": "vision-defects",
                "filter": f"id in ({ids})",
                "runIds": runs,
                "keys": metrics,
            },
        }

        def get(path: str, **params: str) -> Callable[[], object]:
            return lambda: client.get(path, params=params).raise_for_status()

        def through_link() -> object:
            return client.get(
                "/api/share/view", headers={"X-Salon-Link": secret}
            ).raise_for_status()

        def as_editor() -> object:
            headers = {"Authorization": f"Bearer {editor}"}
            return client.post("/graphql", json=own, headers=headers).raise_for_status()

        rows = [
            ("share view, through the link", median_ms(through_link, 40)),
            ("the same operation, with the editor's own token", median_ms(as_editor, 40)),
            ("oEmbed", median_ms(get("/oembed", url=page), 40)),
            ("HTML snapshot", median_ms(get("/api/share/snapshot.html", link=secret), 10)),
        ]
        png = get("/api/share/snapshot.png", link=secret)
        started = time.perf_counter()
        png()
        rows.append(("PNG snapshot, drawn (once)", (time.perf_counter() - started) * 1000))
        rows.append(("PNG snapshot, reused within the minute", median_ms(png, 10)))
        return rows


def main() -> None:
    metrics = ["val/loss", "val/acc"]
    with tempfile.TemporaryDirectory() as folder:
        for hub in start_hub(Path(folder), demo=True):
            editor = person(hub, "bench-editor", "editor", "vision-defects")
            runs = [n["id"] for n in hub.graphql(RUNS_QUERY)["data"]["runs"]["nodes"]]
            rows = measure(hub.url, editor, runs, metrics)
    print(f"A comparison link of {len(runs)} runs x {len(metrics)} metrics, demo data (median):")
    for label, ms in rows:
        print(f"  {label:<50} {ms:9.1f} ms")


if __name__ == "__main__":
    main()
