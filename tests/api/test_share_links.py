"""Share links through a live hub: every view, bad input, who may do what, the link's
credential on every request, audit, concurrency, oEmbed and snapshots."""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import re
import struct
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hub.clock import now
from hub.services.identity import accounts
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.conftest import LiveHub, graphql_call

CREATE = """mutation($i: ShareLinkInput!) { createShareLink(input: $i) { __typename
  ... on NewShareLink { url embedHtml snapshotPngUrl snapshotHtmlUrl link { id state } }
  ... on Error { message } } }"""
VP = {"project": "vision-defects"}
REVOKE = "mutation($id: ID!) { revokeShareLink(id: $id) { __typename ... on ShareLink { state } } }"
LIST = '{ shareLinks(project: "vision-defects") { id } }'
INVALID = "link_invalid"


def create(hub: LiveHub, token: str, **values: Any) -> dict[str, Any]:
    body = graphql_call(hub.url, token, CREATE, {"i": values})
    assert not body.get("errors"), body
    made: dict[str, Any] = body["data"]["createShareLink"]
    return made


def secret_of(made: dict[str, Any]) -> str:
    assert made["__typename"] == "NewShareLink", made
    return str(made["url"].split("link=")[1])


def look(hub: LiveHub, secret: str, viewer: str | None = None) -> httpx.Response:
    headers = {"X-Salon-Link": secret}
    if viewer:
        headers["Authorization"] = f"Bearer {viewer}"
    return httpx.get(f"{hub.url}/api/share/view", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def editor(demo_hub: LiveHub) -> str:
    return person(demo_hub, "share-editor", "editor", "vision-defects")


@pytest.fixture(scope="module")
def demo(demo_hub: LiveHub) -> dict[str, Any]:
    body = demo_hub.graphql(
        '{ runs(project: "vision-defects", first: 3) { ... on RunConnection { nodes { id } } }'
        ' other: runs(project: "churn-forecast", first: 1) '
        "{ ... on RunConnection { nodes { id } } }"
        ' model(project: "vision-defects", name: "defect-detector") '
        "{ ... on Model { versions { id } } } reviews { id project } }"
    )["data"]
    return {
        "runs": [n["id"] for n in body["runs"]["nodes"]],
        "other_run": body["other"]["nodes"][0]["id"],
        "version": body["model"]["versions"][0]["id"],
        "review": next(r["id"] for r in body["reviews"] if r["project"] == "vision-defects"),
    }


def test_each_view_is_shared_and_read_through_its_link(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    views = {
        "RUN_COMPARISON": {"runIds": demo["runs"][:2], "metrics": ["val/loss", "val/acc"]},
        "METRIC_CHART": {"runIds": demo["runs"][:1], "metrics": ["train/loss"]},
        "DATASET_PROFILE": {"dataset": "line-inspections", "datasetVersion": 1},
        "MODEL_CARD": {"modelVersionId": demo["version"]},
        "REVIEW_SUMMARY": {"reviewId": demo["review"]},
        "RESOURCE_USAGE": {"days": 30},
        "WIKI_PAGE": {"slug": "decisions"},
    }
    for view, values in views.items():
        made = create(demo_hub, editor, view=view, title=f"Shared {view}", **VP, **values)
        response = look(demo_hub, secret_of(made))
        assert response.status_code == 200, (view, response.text)
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["link"]["view"] == view.lower() and body["link"]["title"] == f"Shared {view}"
        data = body["data"]
        if view == "RUN_COMPARISON":
            assert len(data["runs"]["nodes"]) == 2
            assert {s["key"] for s in data["metricSeries"]} == {"val/loss", "val/acc"}
        if view == "DATASET_PROFILE":
            columns = {c["name"]: c for c in data["dataset"]["version"]["columns"]}
            assert (
                columns["inspector_email"]["pii"] and columns["inspector_email"]["profile"] is None
            )
            assert columns["surface_temp_c"]["profile"]["mean"] > 0
        if view == "RESOURCE_USAGE":
            assert {row["who"] for row in data["clusterUsage"]} <= {"vision-defects"}
        if view == "WIKI_PAGE":
            shown = data["page"]["html"]
            assert "Baseline for the quarterly review" in shown
            # References read as the link reads them, in place of the markup.
            assert "[[" not in shown, shown
            assert re.search(
                r'<span class="reference">dataset line-inspections \(version \d: [\d,]+ rows', shown
            )
            assert '<span class="reference">#2 Label the line C readings' in shown


BAD = [
    ({"view": "RUN_COMPARISON", "runIds": [], "metrics": ["val/loss"]}, "at least one run"),
    (
        {"view": "RUN_COMPARISON", "runIds": [f"r{i}" for i in range(13)], "metrics": ["x"]},
        "at most 12",
    ),
    ({"view": "METRIC_CHART", "runIds": ["a", "b"], "metrics": ["x"]}, "at most 1"),
    ({"view": "METRIC_CHART", "runIds": ["x') or ('1'='1"], "metrics": ["x"]}, "not a run id"),
    ({"view": "RUN_COMPARISON", "runIds": ["{run}"], "metrics": []}, "at least one metric"),
    (
        {"view": "RUN_COMPARISON", "runIds": ["{run}"], "metrics": [f"m{i}" for i in range(9)]},
        "at most 8",
    ),
    (
        {"view": "RUN_COMPARISON", "runIds": ["{run}"], "metrics": ["val/loss"], "title": " "},
        "title",
    ),
    (
        {
            "view": "RUN_COMPARISON",
            "runIds": ["{run}"],
            "metrics": ["val/loss"],
            "title": "t" * 201,
        },
        "at most 200",
    ),
    (
        {
            "view": "RUN_COMPARISON",
            "runIds": ["{run}"],
            "metrics": ["val/loss"],
            "expiresInDays": 0,
        },
        "1 to 366 days",
    ),
    (
        {
            "view": "RUN_COMPARISON",
            "runIds": ["{run}"],
            "metrics": ["val/loss"],
            "expiresInDays": 400,
        },
        "1 to 366 days",
    ),
    ({"view": "WIKI_PAGE", "slug": "../../etc/passwd"}, "slug"),
    ({"view": "RESOURCE_USAGE", "days": 0}, "1 to 90 days"),
    ({"view": "DATASET_PROFILE"}, "Name the dataset"),
    ({"view": "MODEL_CARD"}, "model version id"),
    ({"view": "RUN_COMPARISON", "runIds": ["no-such-run"], "metrics": ["val/loss"]}, "no run"),
    ({"view": "RUN_COMPARISON", "runIds": ["{other}"], "metrics": ["val/loss"]}, "no run"),
    ({"view": "RUN_COMPARISON", "runIds": ["{run}"], "metrics": ["never-logged"]}, "metrics"),
    ({"view": "WIKI_PAGE", "slug": "no-such-page"}, "No page"),
]


def test_bad_input_is_refused_with_a_reason_and_makes_no_link(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    before = len(demo_hub.graphql(LIST)["data"]["shareLinks"])
    for values, reason in BAD:
        given = {"title": "bad", **VP, **values}
        given["runIds"] = [
            r.replace("{run}", demo["runs"][0]).replace("{other}", demo["other_run"])
            for r in values.get("runIds", [])
        ] or values.get("runIds")
        if given["runIds"] is None:
            del given["runIds"]
        made = create(demo_hub, editor, **given)
        assert made["__typename"].endswith("Error"), (values, made)
        assert reason.lower() in made["message"].lower(), (values, made["message"])
    graphql_call(
        demo_hub.url,
        editor,
        CREATE,
        {"i": {"view": "EVERYTHING", "title": "x", **VP}},
        expect_errors=True,
    )
    assert len(demo_hub.graphql(LIST)["data"]["shareLinks"]) == before


def test_who_may_share_list_and_revoke(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    viewer = person(demo_hub, "share-viewer-only", "viewer", "vision-defects")
    outsider = person(demo_hub, "share-outsider", "editor", "churn-forecast")
    colleague = person(demo_hub, "share-colleague", "editor", "vision-defects")
    maintainer = person(demo_hub, "share-maintainer", "maintainer", "vision-defects")
    chart = {"view": "METRIC_CHART", "runIds": demo["runs"][:1], "metrics": ["val/loss"], **VP}
    assert create(demo_hub, viewer, title="no", **chart)["__typename"] == "ForbiddenError"
    assert create(demo_hub, outsider, title="no", **chart)["__typename"] == "NotFoundError"
    listed = graphql_call(demo_hub.url, viewer, LIST)
    assert listed["data"]["shareLinks"] is not None
    hidden = graphql_call(demo_hub.url, outsider, LIST, expect_errors=True)
    assert hidden.get("errors") and "project" in hidden["errors"][0]["message"]

    first, second = (create(demo_hub, editor, title=t, **chart)["link"]["id"] for t in "ab")
    for token, link, expected in [
        (colleague, first, "ForbiddenError"),
        (outsider, first, "NotFoundError"),
        (maintainer, first, "ShareLink"),
        (editor, second, "ShareLink"),
    ]:
        answer = graphql_call(demo_hub.url, token, REVOKE, {"id": link})["data"]["revokeShareLink"]
        assert answer["__typename"] == expected, (link, answer)
    states = demo_hub.graphql('{ shareLinks(project: "vision-defects") { id state } }')
    assert {s["id"]: s["state"] for s in states["data"]["shareLinks"]}[first] == "revoked"


def test_the_link_is_the_only_credential_and_opens_only_its_view(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    chart = {"view": "METRIC_CHART", "runIds": demo["runs"][:1], "metrics": ["val/loss"], **VP}
    secret = secret_of(create(demo_hub, editor, title="chart", **chart))
    # The link is no API token: GraphQL and the other endpoints refuse it.
    as_token = httpx.post(
        f"{demo_hub.url}/graphql",
        json={"query": "{ projects { name } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert as_token.status_code == 401
    other = httpx.get(
        f"{demo_hub.url}/api/v1/metrics",
        params={"run": demo["runs"][1]},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert other.status_code == 401
    # What the request asks for beyond the link is never read.
    extra = httpx.get(
        f"{demo_hub.url}/api/share/view",
        params={"runIds": demo["other_run"]},
        headers={"X-Salon-Link": secret},
    )
    assert [r["id"] for r in extra.json()["data"]["runs"]["nodes"]] == demo["runs"][:1]
    for given, status, code in [
        (None, 404, INVALID),
        ("", 404, INVALID),
        (secret[:-3] + "abc", 404, INVALID),
        ("salon_link_" + "x" * 10_000, 404, INVALID),
        ("\x00\x01", 404, INVALID),
    ]:
        headers = {} if given is None else {"X-Salon-Link": given}
        try:
            response = httpx.get(f"{demo_hub.url}/api/share/view", headers=headers)
        except httpx.LocalProtocolError:  # the client itself refuses control characters
            continue
        assert (response.status_code, response.json()["error"]) == (status, code), given

    signed_in = secret_of(create(demo_hub, editor, title="members", signedInOnly=True, **chart))
    assert look(demo_hub, signed_in).json()["error"] == "link_sign_in"
    assert look(demo_hub, signed_in).status_code == 401
    anyone = person(demo_hub, "share-reader", None)  # an account, with no role anywhere
    assert look(demo_hub, signed_in, viewer=anyone).status_code == 200
    assert look(demo_hub, signed_in, viewer="salon_wrong").status_code == 401

    expired = create(demo_hub, editor, title="old", **chart)
    asyncio.run(
        demo_hub.store.db.write(
            lambda cur: cur.execute(
                "UPDATE share_links SET expires_at = ? WHERE id = ?",
                [(now() - timedelta(minutes=1)).replace(tzinfo=None), expired["link"]["id"]],
            )
        )
    )
    response = look(demo_hub, secret_of(expired))
    assert (response.status_code, response.json()["error"]) == (410, "link_expired")
    assert "expired on" in response.json()["message"]


def test_a_link_stops_when_its_maker_loses_access(demo_hub: LiveHub, demo: dict[str, Any]) -> None:
    maker = person(demo_hub, "share-mover", "editor", "vision-defects")
    chart = {"view": "METRIC_CHART", "runIds": demo["runs"][:1], "metrics": ["val/loss"], **VP}
    secret = secret_of(create(demo_hub, maker, title="moving", **chart))
    assert look(demo_hub, secret).status_code == 200
    store = demo_hub.store
    asyncio.run(access.revoke_role(store, SYSTEM, "vision-defects", "user", "share-mover"))
    response = look(demo_hub, secret)
    assert (response.status_code, response.json()["error"]) == (410, "link_orphaned")
    asyncio.run(access.grant_role(store, SYSTEM, "vision-defects", "user", "share-mover", "viewer"))
    assert look(demo_hub, secret).status_code == 200, "it reads with its maker's access now"
    asyncio.run(accounts.set_disabled(store, SYSTEM, "share-mover", True))
    assert look(demo_hub, secret).json()["error"] == "link_orphaned"


def test_views_are_audited_with_the_link_and_survive_a_concurrent_revoke(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    chart = {"view": "METRIC_CHART", "runIds": demo["runs"][:1], "metrics": ["val/loss"], **VP}
    made = create(demo_hub, editor, title="busy", **chart)
    secret, link_id = secret_of(made), made["link"]["id"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        views = [pool.submit(look, demo_hub, secret) for _ in range(12)]
        pool.submit(graphql_call, demo_hub.url, editor, REVOKE, {"id": link_id}).result()
        statuses = [future.result().status_code for future in views]
    assert set(statuses) <= {200, 410}, statuses
    assert look(demo_hub, secret).status_code == 410
    events = demo_hub.graphql(
        "query($id: String) { auditEvents(filter: {objectId: $id}, first: 100) "
        "{ ... on AuditPage { events { action outcome authMethod authId } } } }",
        {"id": link_id},
    )["data"]["auditEvents"]["events"]
    shown = [e for e in events if e["action"] == "share_link.view" and e["outcome"] == "allow"]
    assert len(shown) == statuses.count(200)
    assert all(e["authMethod"] == "link" and e["authId"] == link_id for e in shown)
    refused = [e for e in events if e["action"] == "share_link.view" and e["outcome"] == "deny"]
    assert len(refused) == statuses.count(410) + 1
    # The run data read through the link is audited as the link too.
    reads = demo_hub.graphql(
        "query($id: String) { auditEvents(filter: {objectId: $id}, first: 500) "
        "{ ... on AuditPage { events { authMethod authId } } } }",
        {"id": demo["runs"][0]},
    )["data"]["auditEvents"]["events"]
    assert any(e["authMethod"] == "link" and e["authId"] == link_id for e in reads)


def test_oembed_describes_a_link_and_escapes_its_title(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    title = '<script>alert("x")</script> & loss'
    made = create(
        demo_hub,
        editor,
        view="METRIC_CHART",
        runIds=demo["runs"][:1],
        metrics=["val/loss"],
        title=title,
        **VP,
    )
    oembed = f"{demo_hub.url}/oembed"
    response = httpx.get(oembed, params={"url": made["url"], "format": "json", "maxwidth": 480})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["version"] == "1.0" and body["type"] == "rich" and body["provider_name"] == "Salon"
    assert body["title"] == title and body["width"] == 480 and body["height"] > 0
    assert "<script>" not in body["html"] and html.escape(title) in body["html"]
    assert body["html"].startswith("<iframe ") and "embed=true" in body["html"]
    for params, status in [
        ({}, 400),
        ({"url": made["url"], "format": "xml"}, 501),
        ({"url": made["url"].replace("127.0.0.1:8501", "evil.example")}, 404),
        ({"url": made["url"].replace("/shared", "/settings")}, 404),
        ({"url": made["url"][:-4] + "abcd"}, 404),
        ({"url": made["url"], "maxwidth": "wide"}, 400),
        ({"url": "x" * 5000}, 400),
    ]:
        assert httpx.get(oembed, params=params).status_code == status, params
    graphql_call(demo_hub.url, editor, REVOKE, {"id": made["link"]["id"]})
    assert httpx.get(oembed, params={"url": made["url"]}).status_code == 410


def test_snapshots_are_drawn_on_request(
    demo_hub: LiveHub, editor: str, demo: dict[str, Any]
) -> None:
    chart = create(
        demo_hub,
        editor,
        view="RUN_COMPARISON",
        runIds=demo["runs"][:2],
        metrics=["val/loss", "val/acc"],
        title="Loss <for the wiki>",
        **VP,
    )
    html_url = chart["snapshotHtmlUrl"].replace("http://127.0.0.1:8000", demo_hub.url)
    page = httpx.get(html_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "Loss &lt;for the wiki&gt;" in page.text and "Plotly.newPlot" in page.text
    # plotly.js comes from the hub, once for every snapshot (each page carried 4.8 MB of it).
    assert len(page.content) < 200_000, len(page.content)
    (script,) = re.findall(r'<script[^>]* src="([^"]+)"', page.text)
    assert script.startswith(demo_hub.url + "/static/plotly-")
    served = httpx.get(script)
    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    assert len(served.content) > 1_000_000 and served.headers["content-type"].startswith(
        "text/javascript"
    )
    assert httpx.get(f"{demo_hub.url}/static/plotly-0.0.1.min.js").status_code == 404
    kept = httpx.get(html_url + "&inline=1")
    assert " src=" not in kept.text and len(kept.content) > 1_000_000, "a copy to keep"
    card = create(
        demo_hub, editor, view="MODEL_CARD", modelVersionId=demo["version"], title="Card", **VP
    )
    card_url = card["snapshotHtmlUrl"].replace("http://127.0.0.1:8000", demo_hub.url)
    assert "Intended use" in httpx.get(card_url).text
    assert card["snapshotPngUrl"] is None, "cards have no PNG"
    asked = card_url.replace("snapshot.html", "snapshot.png")
    no_png = httpx.get(asked)
    assert no_png.status_code == 400 and "HTML snapshot" in no_png.json()["message"]
    png = httpx.get(
        chart["snapshotPngUrl"].replace("http://127.0.0.1:8000", demo_hub.url), timeout=120
    )
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # Loss and accuracy in panels of their own, under the link's title (one "value" axis and
    # no title before): the figure drawn is the one the PNG is made of.
    from hub.http import snapshots

    data = look(demo_hub, secret_of(chart)).json()["data"]
    figure = snapshots.figure("run_comparison", data, "Loss <for the wiki>")
    assert {figure.layout.yaxis.title.text, figure.layout.yaxis2.title.text} == {
        "val/loss",
        "val/acc",
    }
    assert figure.layout.title.text == "Loss &lt;for the wiki&gt;"
    width, height = struct.unpack(">II", png.content[16:24])
    assert (width, height) == (800, figure.layout.height) and height > 480
