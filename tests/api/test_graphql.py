"""The GraphQL hub, end to end in-process: reads, writes, typed errors and limits."""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

from hub.api.schema import build_schema
from hub.http.graphql import GraphQLView
from tests.inprocess import InProcessHub

CREATE = """
mutation($input: CreateRunInput!) {
  createRun(input: $input) {
    __typename
    ... on Run { id name status params { key value } tags { key value } }
    ... on Error { message }
    ... on ValidationError { field }
  }
}
"""
RUNS = """
query($project: String, $filter: String, $orderBy: [String!], $first: Int!, $after: String) {
  runs(project: $project, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    __typename
    ... on RunConnection {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { id name status metrics { key lastValue } params { key value } }
    }
    ... on FilterError { message position }
    ... on Error { message }
  }
}
"""


def create(api: InProcessHub, **fields: Any) -> dict[str, Any]:
    data = {"project": "p", "experiment": "e", **fields}
    result: dict[str, Any] = api.graphql(CREATE, {"input": data})["data"]["createRun"]
    return result


def test_projects_with_counts_and_recent_runs(demo_api: InProcessHub) -> None:
    data = demo_api.graphql(
        "{ projects { name runCount metricKeys paramKeys recentRuns(limit: 3) { name } } }"
    )["data"]
    by_name = {p["name"]: p for p in data["projects"]}
    assert set(by_name) == {"vision-defects", "churn-forecast", "support-llm"}
    assert by_name["vision-defects"]["runCount"] == 24
    assert "val/acc" in by_name["vision-defects"]["metricKeys"]
    assert "lr" in by_name["vision-defects"]["paramKeys"]
    assert len(by_name["support-llm"]["recentRuns"]) == 3


def test_run_search_with_the_filter_language(demo_api: InProcessHub) -> None:
    body = demo_api.graphql(
        RUNS,
        {
            "project": "vision-defects",
            "filter": "metrics.`val/acc` > 0.8 and params.optimizer = 'adamw'",
            "orderBy": ["metrics.`val/acc` desc"],
            "first": 5,
        },
    )
    result = body["data"]["runs"]
    assert result["__typename"] == "RunConnection"
    accs = [
        next(m["lastValue"] for m in node["metrics"] if m["key"] == "val/acc")
        for node in result["nodes"]
    ]
    assert accs == sorted(accs, reverse=True) and all(acc > 0.8 for acc in accs)
    for node in result["nodes"]:
        assert {"key": "optimizer", "value": "adamw"} in node["params"]
    assert result["totalCount"] >= len(result["nodes"])


def test_a_bad_filter_is_a_typed_result_not_an_error(demo_api: InProcessHub) -> None:
    result = demo_api.graphql(RUNS, {"filter": "metrics.acc >", "first": 5})["data"]["runs"]
    assert result["__typename"] == "FilterError"
    assert "ends too early" in result["message"]
    result = demo_api.graphql(RUNS, {"first": 100000})["data"]["runs"]
    assert result["__typename"] == "ValidationError"
    assert "between 0 and 500" in result["message"]


def test_paging_through_all_runs(demo_api: InProcessHub) -> None:
    seen: list[str] = []
    after = None
    while True:
        result = demo_api.graphql(RUNS, {"first": 10, "after": after, "orderBy": ["name"]})
        page = result["data"]["runs"]
        seen.extend(node["id"] for node in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 46


def test_create_log_finish_and_read_back(api: InProcessHub) -> None:
    run = create(
        api,
        name="first",
        params=[{"key": "lr", "value": "0.1"}],
        tags=[{"key": "team", "value": "vision"}],
        environment={"gitCommit": "abc", "gitDirty": True, "packages": ["numpy==2"]},
    )
    assert run["__typename"] == "Run" and run["status"] == "RUNNING"
    notes = api.graphql(
        'mutation($id: ID!) { setRunNotes(runId: $id, notes: "**good**") '
        "{ ... on Run { notes } } }",
        {"id": run["id"]},
    )
    assert notes["data"]["setRunNotes"]["notes"] == "**good**"
    finished = api.graphql(
        "mutation($id: ID!) { finishRun(id: $id, status: FAILED) "
        "{ __typename ... on Run { status endedAt durationSeconds } } }",
        {"id": run["id"]},
    )["data"]["finishRun"]
    assert finished["status"] == "FAILED" and finished["durationSeconds"] >= 0
    env = api.graphql(
        "query($id: ID!) { run(id: $id) { environment { gitCommit gitDirty packages } "
        "experiment { name } project { name } } }",
        {"id": run["id"]},
    )["data"]["run"]
    assert env == {
        "environment": {"gitCommit": "abc", "gitDirty": True, "packages": ["numpy==2"]},
        "experiment": {"name": "e"},
        "project": {"name": "p"},
    }


def test_expected_failures_are_typed(api: InProcessHub) -> None:
    assert create(api, name="")["__typename"] == "Run"  # empty name → generated one
    too_long = create(api, name="x" * 500)
    assert too_long["__typename"] == "ValidationError" and "limit is 200" in too_long["message"]
    huge_param = create(api, params=[{"key": "k", "value": "v" * 7000}])
    assert huge_param["__typename"] == "ValidationError" and huge_param["field"] == "param"
    run = create(api, params=[{"key": "lr", "value": "0.1"}])
    changed = api.graphql(
        'mutation($id: ID!) { logParams(runId: $id, params: [{key: "lr", value: "0.2"}]) '
        "{ __typename ... on Error { message } } }",
        {"id": run["id"]},
    )["data"]["logParams"]
    assert changed["__typename"] == "ConflictError" and "immutable" in changed["message"]
    missing = api.graphql('mutation { finishRun(id: "nope", status: FINISHED) { __typename } }')[
        "data"
    ]["finishRun"]
    assert missing["__typename"] == "NotFoundError"
    assert api.graphql('{ run(id: "nope") { id } }')["data"]["run"] is None


def test_a_variable_of_the_wrong_shape_says_what_is_wrong(api: InProcessHub) -> None:
    """Not masked as an unexpected error: the caller can fix it."""
    body = api.graphql(
        'query($k: TargetKind!) { discussion(kind: $k, id: "x") { __typename } }',
        {"k": "model_version"},
        expect_errors=True,
    )
    message = body["errors"][0]["message"]
    assert "Value 'model_version' does not exist in 'TargetKind' enum" in message
    assert "MODEL_VERSION" in message


def test_requests_without_a_valid_token_get_401(api: InProcessHub) -> None:
    query = {"query": "{ projects { name } }"}
    assert api.http.post("/graphql", json=query).status_code == 401
    bad = api.http.post("/graphql", json=query, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "unknown" in bad.json()["message"]
    assert (
        api.http.post("/graphql", json=query, headers={"Authorization": "Basic x"}).status_code
        == 401
    )
    assert api.http.get("/healthz").status_code == 200
    page = api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_query_limits(api: InProcessHub) -> None:
    nested = "project { name }"
    for _ in range(6):
        nested = f"project {{ recentRuns {{ {nested} }} }}"
    deep = f"{{ runs {{ ... on RunConnection {{ nodes {{ {nested} }} }} }} }}"
    body = api.graphql(deep, expect_errors=True)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: projects {{ name }}" for i in range(50)) + " }"
    body = api.graphql(aliases, expect_errors=True)
    assert "aliases" in body["errors"][0]["message"].lower()
    tokens = "{ projects { " + " ".join(["name"] * 5000) + " } }"
    body = api.graphql(tokens, expect_errors=True)
    assert "token" in body["errors"][0]["message"].lower()
    body = api.graphql("{ projects { name ", expect_errors=True)
    assert "Syntax Error" in body["errors"][0]["message"]


def test_series_limits_are_clear_errors(api: InProcessHub) -> None:
    run = create(api)
    body = api.graphql(
        'query($id: ID!) { metricSeries(runIds: [$id], keys: ["a"], buckets: 0) { key } }',
        {"id": run["id"]},
        expect_errors=True,
    )
    error = body["errors"][0]
    assert "buckets" in error["message"] and error["extensions"]["code"] == "limit_exceeded"


def test_oversized_graphql_bodies_are_413(api: InProcessHub) -> None:
    big = {"query": "{ version }", "variables": {"pad": "x" * (2 * 1024 * 1024)}}
    response = api.http.post("/graphql", json=big, headers=api.auth)
    assert response.status_code == 413 and "limited to" in response.json()["message"]

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ version }", "variables": {"pad": "'
        for _ in range(2048):
            yield b"x" * 1024
        yield b'"}}'

    streamed = api.http.post("/graphql", content=chunks(), headers=api.auth)
    assert streamed.status_code == 413


def test_concurrent_runs_in_a_new_project_create_it_once(api: InProcessHub) -> None:
    def start(index: int) -> str:
        result = create(api, project="fresh", experiment="sweep", name=f"r{index}")
        assert result["__typename"] == "Run", result
        run_id: str = result["id"]
        return run_id

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(start, range(24)))
    data = api.graphql(
        '{ projects { name runCount experiments { name } } runs(project: "fresh", first: 50) '
        "{ ... on RunConnection { totalCount nodes { id } } } }"
    )["data"]
    assert [(p["name"], p["runCount"]) for p in data["projects"]] == [("fresh", 24)]
    assert data["projects"][0]["experiments"] == [{"name": "sweep"}]
    assert sorted(node["id"] for node in data["runs"]["nodes"]) == sorted(ids)


def test_curves_of_every_run_in_a_page_match_a_direct_series_query(
    demo_api: InProcessHub,
) -> None:
    page = demo_api.graphql(
        '{ runs(project: "vision-defects", first: 12) { ... on RunConnection { nodes { id '
        'series(keys: ["val/acc", "lr"], buckets: 50) { runId key values maxs } } } } }'
    )["data"]["runs"]["nodes"]
    assert len(page) == 12
    for node in page:
        assert [(s["runId"], s["key"]) for s in node["series"]] == [
            (node["id"], "val/acc"),
            (node["id"], "lr"),
        ]
        assert all(len(s["values"]) <= 50 for s in node["series"])
    direct = demo_api.graphql(
        'query($id: ID!) { metricSeries(runIds: [$id], keys: ["val/acc"], buckets: 50) '
        "{ values maxs } }",
        {"id": page[3]["id"]},
    )["data"]["metricSeries"][0]
    assert direct == {k: page[3]["series"][0][k] for k in ("values", "maxs")}


def test_one_limit_on_curves_per_request_across_fields_and_aliases(demo_api: InProcessHub) -> None:
    """200 run-and-metric series per request, whether asked through metricSeries, each run's
    series, or many aliases of either."""
    ids = [node["id"] for node in demo_api.graphql(RUNS, {"first": 100})["data"]["runs"]["nodes"]]
    assert len(ids) == 46
    five = '["loss", "val/acc", "val/loss", "lr", "grad_norm"]'
    per_run = "{ runs(first: 100) { ... on RunConnection { nodes { series(keys: %s) { key } } } } }"
    aliases = " ".join(
        f'a{n}: metricSeries(runIds: $ids, keys: ["loss", "val/acc"], buckets: 10) {{ key }}'
        for n in range(3)
    )
    for document, variables in (
        (per_run % five, {}),  # 46 runs x 5 metrics
        (f"query($ids: [ID!]!) {{ {aliases} }}", {"ids": ids}),  # 3 x 46 x 2
        (
            'query($ids: [ID!]!) { metricSeries(runIds: $ids, keys: ["loss", "val/acc", "lr"]) '
            + "{ key } "
            + per_run[1:] % '["loss", "val/acc"]',
            {"ids": ids},
        ),  # 138 + 92
    ):
        body = demo_api.graphql(document, variables, expect_errors=True)
        messages = {error["message"] for error in body["errors"]}
        assert any("At most 200 run-and-metric series per request" in m for m in messages), body
    fits = demo_api.graphql(per_run % '["loss", "val/acc", "val/loss", "lr"]')  # 184
    assert len(fits["data"]["runs"]["nodes"]) == 46


def test_readiness_checks_the_database_and_the_object_store(api: InProcessHub) -> None:
    """/readyz answers 200 only while the database answers and the object store takes files;
    /healthz only says the process serves."""
    ready = api.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "objects": "ok"}}
    objects = api.store.objects.root
    objects.mkdir(parents=True, exist_ok=True)
    objects.rmdir()
    objects.write_text("a file where the folder should be")  # as a broken mount would
    broken = api.http.get("/readyz")
    assert broken.status_code == 503 and broken.json()["checks"]["database"] == "ok"
    assert str(objects) in broken.json()["checks"]["objects"]
    objects.unlink()
    api.store.close()  # the database gone
    gone = api.http.get("/readyz")
    assert gone.status_code == 503 and gone.json()["checks"]["database"] != "ok", gone.text
    assert api.http.get("/healthz").status_code == 200


def test_metrics_for_prometheus(api: InProcessHub) -> None:
    """/metrics counts requests by route template (not by path: ids would make a series each)
    and reports queue depths and sizes, to site admins only."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.api.test_datasets import person

    made = api.graphql(
        'mutation { createRun(input: {project: "p", experiment: "e"}) { ... on Run { id } } }'
    )
    run_id = made["data"]["createRun"]["id"]
    for step in range(3):  # through MLflow's REST API: points counted whichever way they come
        logged = api.http.post(
            "/api/2.0/mlflow/runs/log-metric",
            json={"run_id": run_id, "key": "loss", "value": 1.0, "timestamp": 0, "step": step},
            headers=api.auth,
        )
        assert logged.status_code == 200, logged.text
    api.graphql('mutation { setDigestSettings(frequency: "daily") { __typename } }')
    api.http.get("/api/v1/reviews/some-review/samples/3/image?column=x", headers=api.auth)
    api.http.post("/graphql", json={"query": "{ version }"}, headers=api.auth)
    for _ in range(2):  # the runs page twice, with no change between: the second from memory
        api.graphql('{ runs(project: "p", first: 10) { __typename } }')
    answer = api.http.get("/metrics", headers=api.auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    image_route = "/api/v1/reviews/{review_id}/samples/{position}/image"
    labels = (("method", "GET"), ("route", image_route), ("status", "404"))
    assert samples[("salon_http_requests_total", labels)] == 1
    assert not [key for key in samples if "some-review" in str(key)], "no ids in labels"
    timed = ("salon_http_request_seconds_count", (("method", "POST"), ("route", "/graphql")))
    assert samples[timed] >= 1
    assert samples[("salon_webhook_outbox_pending", ())] == 0
    assert samples[("salon_metric_points", ())] == 3
    assert samples[("salon_digests_due", ())] == 1, "a daily digest never sent is due"
    assert samples[("salon_database_bytes", ())] > 0
    assert samples[("salon_kept_reads", (("answered", "read"),))] >= 1
    assert samples[("salon_kept_reads", (("answered", "kept"),))] >= 1
    assert ("salon_kept_reads", (("answered", "joined"),)) in samples
    changes = samples[("salon_changes", (("counted", "changes"),))]
    assert changes >= 5, "the run made above, its three points, the digest settings"
    assert 1 <= samples[("salon_changes", (("counted", "transactions"),))] <= changes
    assert api.http.get("/metrics").status_code == 401
    reader = person(api, "vera", None)  # type: ignore[arg-type]
    refused = api.http.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403


def test_graphiql_loads_nothing_from_a_cdn(api: InProcessHub) -> None:
    """GraphiQL's page names the hub's own copies of its files (an air-gapped install showed a
    blank page), and each copy is the very file its integrity hash names."""
    import base64
    import hashlib
    import re

    page = api.http.get("/graphql", headers={"Accept": "text/html"}).text
    assert "unpkg.com" not in page
    found = re.findall(
        r'(?:src|href)="(/static/graphiql/[^"]+)"\s+integrity="sha384-([^"]+)"', page
    )
    assert len(found) == 7, found
    for address, expected in found:
        answer = api.http.get(address)
        assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
        digest = base64.b64encode(hashlib.sha384(answer.content).digest()).decode()
        assert digest == expected, address
    assert api.http.get("/static/graphiql/..%2F..%2Fsettings.py").status_code == 404
    assert api.http.get("/static/graphiql/evil.js").status_code == 404


def test_answers_are_utf8_json_whatever_the_text(api: InProcessHub) -> None:
    name = 'Überprüfung ✓ 検査 "quoted" \\ back\u2028line'
    run = create(api, name=name)
    response = api.http.post(
        "/graphql",
        json={"query": "query($id: ID!) { run(id: $id) { name } }", "variables": {"id": run["id"]}},
        headers=api.auth,
    )
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(response.content.decode("utf-8"))["data"]["run"]["name"] == name


def test_numbers_past_64_bits_are_still_encoded() -> None:
    view = GraphQLView(build_schema())
    assert json.loads(view.encode_json({"n": 2**70, "x": 0.1})) == {"n": 2**70, "x": 0.1}
