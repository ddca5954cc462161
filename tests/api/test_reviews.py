"""Review queues on a real hub: two reviewers judge a version's predictions, the tally (human-
judged accuracy with its interval, agreement, disagreements), masking, the rights, bad and
concurrent verdicts, closing, and publishing the reviewed labels as a new dataset version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

import hub
from hub.demo.models import part_image
from hub.services.registry.review_stats import fleiss_kappa, tally, wilson
from tests.api.test_datasets import person
from tests.api.test_discussions import as_person
from tests.api.test_models import trained
from tests.conftest import LiveHub, S3Server, graphql_call

START = """mutation($v: ID!, $size: Int!, $per: Int!, $labels: [String!]) {
  startReview(versionId: $v, dataset: "predictions", predictionColumn: "prediction",
              truthColumn: "truth", size: $size, perItem: $per, labels: $labels, seed: 7,
              instructions: "Is the **defect** right?") {
    __typename ... on ReviewQueue { id labels model version dataset datasetVersion
      tally { samples judged } } ... on Error { message } } }"""
SAMPLES = """query($id: ID!, $offset: Int!, $limit: Int!, $position: Int) {
  reviewSamples(id: $id, offset: $offset, limit: $limit, position: $position) {
    __typename ... on Error { message }
    ... on ReviewSamples { total judgedByMe labels instructionsHtml
      samples { position rowNumber columns values prediction judgements
                mine { correct label } } } } }"""
JUDGE = """mutation($id: ID!, $p: Int!, $ok: Boolean!, $label: String, $comment: String!) {
  judgeSample(id: $id, position: $p, correct: $ok, label: $label, comment: $comment) {
    __typename ... on ReviewJudgement { position correct label } ... on Error { message } } }"""
TALLY = """query($id: ID!) { review(id: $id) { __typename ... on Error { message }
  ... on ReviewQueue { closedAt tally { samples judged complete judgements correct decided
    accuracy low high kappa agreement disagreements } } } }"""


def predictions(rows: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    defects = ["none", "scratch", "dent"]
    return pl.DataFrame(
        {
            "part_id": np.arange(rows),
            "line": rng.choice(["A", "B", "C"], rows),
            "image": [f"s3://line-camera/{i:06d}.png" for i in range(rows)],
            "inspector_email": [f"inspector{i % 7}@plant.example" for i in range(rows)],
            "prediction": rng.choice(defects, rows),
            "truth": rng.choice(defects, rows),
        }
    )


@pytest.fixture
def queue(hub_server: LiveHub) -> dict[str, Any]:
    hub.init(
        project="vision",
        experiment="detector",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    roles = (("ana", "editor"), ("bob", "commenter"), ("cyd", "commenter"), ("vic", "viewer"))
    people = {name: person(hub_server, name, role, "vision") for name, role in roles}
    people["oz"] = person(hub_server, "oz", None)
    client = hub.Client(hub_server.url, people["ana"])
    client.upload_dataset("vision", "predictions", predictions())
    hub_server.graphql(
        'mutation { describeDatasetColumn(project: "vision", dataset: "predictions", '
        'column: "inspector_email", description: "Who took the picture", pii: true) '
        "{ __typename } }"
    )
    version = client.models.register(
        trained(hub_server, people["ana"], 0.9).id, "defect-detector", "model.onnx"
    )
    started = as_person(
        hub_server, people["ana"], START, {"v": version["id"], "size": 20, "per": 2}
    )["startReview"]
    return {"people": people, "id": started["id"], "started": started, "version": version}


def judge(
    live: LiveHub,
    token: str,
    queue_id: str,
    position: int,
    ok: bool,
    label: str | None = None,
    comment: str = "",
) -> dict[str, Any]:
    variables = {"id": queue_id, "p": position, "ok": ok, "label": label, "comment": comment}
    result: dict[str, Any] = as_person(live, token, JUDGE, variables)["judgeSample"]
    return result


def samples(
    live: LiveHub,
    token: str,
    queue_id: str,
    offset: int = 0,
    limit: int = 1,
    position: int | None = None,
) -> dict[str, Any]:
    variables = {"id": queue_id, "offset": offset, "limit": limit, "position": position}
    result: dict[str, Any] = as_person(live, token, SAMPLES, variables)["reviewSamples"]
    return result


def test_two_reviewers_judge_and_the_tally_adds_up(
    hub_server: LiveHub, queue: dict[str, Any]
) -> None:
    bob, cyd, ana = (queue["people"][n] for n in ("bob", "cyd", "ana"))
    started = queue["started"]
    assert started["labels"] == ["dent", "none", "scratch"], "from the predictions"
    assert (started["model"], started["version"], started["dataset"]) == (
        "defect-detector",
        1,
        "predictions",
    )
    first = samples(hub_server, bob, queue["id"])
    assert first["total"] == 20 and first["judgedByMe"] == 0
    assert "<strong>defect</strong>" in first["instructionsHtml"]
    (sample,) = first["samples"]
    values = dict(zip(sample["columns"], sample["values"], strict=True))
    assert values["inspector_email"] == "•••", "PII stays masked for reviewers"
    assert values["prediction"] == sample["prediction"]
    assert 0 <= sample["rowNumber"] < 300
    for position in range(20):  # bob: right for 0-9, wrong (a dent) for 10-19
        ok = position < 10
        said = judge(hub_server, bob, queue["id"], position, ok, None if ok else "dent")
        assert said["__typename"] == "ReviewJudgement", said
    assert samples(hub_server, bob, queue["id"])["samples"] == [], "nothing left for bob"
    for position in range(20):  # cyd agrees on 0-14, not on 15-19
        ok = position < 10 or position >= 15
        judge(hub_server, cyd, queue["id"], position, ok, None if ok else "dent")
    tallied = as_person(hub_server, ana, TALLY, {"id": queue["id"]})["review"]["tally"]
    assert {
        k: tallied[k] for k in ("samples", "judged", "complete", "judgements", "correct", "decided")
    } == {
        "samples": 20,
        "judged": 20,
        "complete": 20,
        "judgements": 40,
        "correct": 10,
        "decided": 15,
    }
    assert tallied["accuracy"] == pytest.approx(10 / 15)
    assert (tallied["low"], tallied["high"]) == pytest.approx(wilson(10, 15))
    assert tallied["low"] < 10 / 15 < tallied["high"]
    assert tallied["disagreements"] == [15, 16, 17, 18, 19]
    assert tallied["agreement"] == pytest.approx(0.75)
    expected = fleiss_kappa(
        [["correct"] * 2] * 10 + [["wrong: dent"] * 2] * 5 + [["wrong: dent", "correct"]] * 5
    )
    assert tallied["kappa"] == pytest.approx(expected)
    # A second verdict replaces the first.
    judge(hub_server, cyd, queue["id"], 15, False, "dent", "Looked again: a dent.")
    again = as_person(hub_server, ana, TALLY, {"id": queue["id"]})["review"]["tally"]
    assert again["judgements"] == 40 and 15 not in again["disagreements"]
    mine = samples(hub_server, cyd, queue["id"], position=15)["samples"][0]["mine"]
    assert mine == {"correct": False, "label": "dent"}


def test_publishing_makes_the_next_training_set_and_closing_ends_it(
    hub_server: LiveHub, queue: dict[str, Any]
) -> None:
    ana, bob, cyd = (queue["people"][n] for n in ("ana", "bob", "cyd"))
    grid = samples(hub_server, bob, queue["id"], offset=0, limit=3)["samples"]
    judge(hub_server, bob, queue["id"], 0, True)
    judge(hub_server, bob, queue["id"], 1, False, "scratch")
    judge(hub_server, cyd, queue["id"], 1, False, "scratch")
    judge(hub_server, bob, queue["id"], 2, True)
    judge(hub_server, cyd, queue["id"], 2, False, "none")
    publish = "mutation($id: ID!) { publishReview(id: $id) { __typename } }"
    published = as_person(hub_server, bob, publish, {"id": queue["id"]})
    assert published["publishReview"]["__typename"] == "ForbiddenError"
    made = as_person(
        hub_server,
        ana,
        "mutation($id: ID!) { publishReview(id: $id, message: "
        '"reviewed labels") { __typename ... on PublishedReview { dataset version '
        "rows created } } }",
        {"id": queue["id"]},
    )["publishReview"]
    assert made == {
        "__typename": "PublishedReview",
        "dataset": "predictions",
        "version": 2,
        "rows": 300,
        "created": True,
    }
    table = hub.Client(hub_server.url, ana).dataset("vision", "predictions", 2)
    by_row = {r["part_id"]: r for r in table.to_dicts()}
    first, second, third = (by_row[s["rowNumber"]] for s in grid)
    assert (first["review_correct"], first["review_label"]) == (True, first["prediction"])
    assert (second["review_correct"], second["review_label"]) == (False, "scratch")
    assert (third["review_correct"], third["review_label"], third["review_count"]) == (
        None,
        None,
        2,
    ), "a tie decides nothing"
    assert sum(r["review_count"] > 0 for r in by_row.values()) == 3

    close = "mutation($id: ID!) { closeReview(id: $id) { ... on ReviewQueue { closedAt } } }"
    closed = as_person(hub_server, ana, close, {"id": queue["id"]})
    assert closed["closeReview"]["closedAt"]
    late = judge(hub_server, cyd, queue["id"], 3, True)
    assert late == {
        "__typename": "ConflictError",
        "message": "This review is closed: its results are final.",
    }
    assert as_person(hub_server, bob, "{ reviews { id } }")["reviews"] == [], "no longer waiting"


def test_rights_and_bad_verdicts(hub_server: LiveHub, queue: dict[str, Any]) -> None:
    vic, oz, bob, ana = (queue["people"][n] for n in ("vic", "oz", "bob", "ana"))
    assert [q["id"] for q in as_person(hub_server, bob, "{ reviews { id } }")["reviews"]] == [
        queue["id"]
    ]
    assert judge(hub_server, vic, queue["id"], 0, True)["__typename"] == "ForbiddenError"
    assert judge(hub_server, oz, queue["id"], 0, True)["__typename"] == "NotFoundError"
    assert samples(hub_server, oz, queue["id"])["__typename"] == "NotFoundError"
    assert judge(hub_server, bob, "no-such-review", 0, True)["__typename"] == "NotFoundError"
    for position, ok, label, comment, words in (
        (20, True, None, "", "samples 0 to 19"),
        (-1, True, None, "", "samples 0 to 19"),
        (0, False, "rust", "", "Choose the right label from: dent, none, scratch"),
        (0, True, "dent", "", "only when the prediction is wrong"),
        (0, False, "dent", "x" * 4001, "longer than 4,000"),
    ):
        said = judge(hub_server, bob, queue["id"], position, ok, label, comment)
        assert words in said["message"], said
    assert samples(hub_server, bob, queue["id"], limit=101)["message"] == (
        "Ask for 1 to 100 samples at a time."
    )
    version = queue["version"]["id"]
    for variables, words in (
        ({"v": version, "size": 301, "per": 2}, "Review 1 to 300 samples"),
        ({"v": version, "size": 5, "per": 11}, "1 to 10 reviewers"),
        ({"v": version, "size": 5, "per": 1, "labels": ["x" * 201]}, "labels of 200"),
    ):
        said = as_person(hub_server, ana, START, variables)["startReview"]
        assert words in said["message"], said
    said = as_person(hub_server, bob, START, {"v": version, "size": 5, "per": 1})["startReview"]
    assert said["__typename"] == "ForbiddenError", "editors start reviews"
    wrong_column = graphql_call(
        hub_server.url, ana, START.replace('"truth"', '"nope"'), {"v": version, "size": 5, "per": 1}
    )
    assert "has no column 'nope'" in wrong_column["data"]["startReview"]["message"]


def test_concurrent_verdicts_are_all_kept(hub_server: LiveHub, queue: dict[str, Any]) -> None:
    bob, cyd, ana = (queue["people"][n] for n in ("bob", "cyd", "ana"))
    work = [(token, position) for position in range(20) for token in (bob, cyd)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda w: judge(hub_server, w[0], queue["id"], w[1], True), work))
    assert all(a["__typename"] == "ReviewJudgement" for a in answers)
    tallied = as_person(hub_server, ana, TALLY, {"id": queue["id"]})["review"]["tally"]
    assert (tallied["judgements"], tallied["complete"], tallied["accuracy"]) == (40, 20, 1.0)


def test_the_statistics_against_published_values() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories: kappa 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[str(c) for c, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.210, abs=5e-4)
    # Wilson (1927), as in Newcombe (1998), table I: 81 of 263 gives 0.2553 to 0.3662.
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson(0, 0) == (0.0, 1.0)
    assert fleiss_kappa([["a", "a"], ["a", "a"]]) is None, "one category: undefined"
    counted = tally(4, 2, {0: [(True, None), (True, None)], 1: [(False, "x")]})
    assert (counted.decided, counted.correct, counted.complete, counted.agreement) == (2, 1, 1, 1)


def test_a_review_check_waits_for_people_and_then_moves_the_alias(
    hub_server: LiveHub, queue: dict[str, Any]
) -> None:
    from tests.api.test_models import model, policy

    ana, bob = queue["people"]["ana"], queue["people"]["bob"]
    mia = person(hub_server, "mia", "maintainer", "vision")
    rules = {
        "protected": ["production"],
        "autoMove": "production",
        "checks": [{"kind": "review", "value": 0.8, "samples": 5}],
    }
    assert policy(hub_server, mia, rules)["checks"] == [
        {"kind": "review", "title": "reviewers judge 80% or more correct (5 samples)"}
    ]
    assert (
        "between 0 and 1"
        in policy(hub_server, mia, {"checks": [{"kind": "review", "value": 80}]})["message"]
    )
    version = hub.Client(hub_server.url, ana).models.register(
        trained(hub_server, ana, 0.9).id, "defect-detector", "v2.onnx"
    )
    assert [(c["status"], c["detail"]) for c in version["checks"]] == [
        ("queued", "Waiting for reviews.")
    ]
    started = as_person(hub_server, ana, START, {"v": version["id"], "size": 10, "per": 1})
    review_id = started["startReview"]["id"]
    for position in range(4):
        judge(hub_server, bob, review_id, position, True)
    check = hub.Client(hub_server.url, bob).models.version(version["id"])["checks"][0]
    assert (check["status"], check["detail"]) == ("running", "4 of 5 samples decided so far.")
    assert model(hub_server, ana)["aliases"] == []
    judge(hub_server, bob, review_id, 4, True)
    check = hub.Client(hub_server.url, bob).models.version(version["id"])["checks"][0]
    assert check["status"] == "passed"
    assert check["detail"].startswith("Reviewers judged 100% of 5 samples correct (95 % interval")
    moved = model(hub_server, ana)
    assert moved["aliases"] == [{"alias": "production", "version": 2, "movedBy": "salon"}]
    judge(hub_server, bob, review_id, 5, False, "dent")  # 5 of 6: 83 %, still at least 80 %
    judge(hub_server, bob, review_id, 6, False, "dent")  # 5 of 7: 71 %
    check = hub.Client(hub_server.url, bob).models.version(version["id"])["checks"][0]
    assert check["status"] == "failed" and "below 80%" in check["detail"]


def test_sample_images_come_through_the_hub(tmp_path: Path, s3_server: S3Server) -> None:
    """A sample's picture is fetched by the hub from where it lies (a run artifact, a file under
    the dataset roots, an S3 object under them) for those who may judge it, and nothing else."""
    from tests.conftest import start_hub

    scans = tmp_path / "scans"
    scans.mkdir()
    picture = part_image("scratch", 1)
    (scans / "0.png").write_bytes(picture)
    (tmp_path / "elsewhere.png").write_bytes(picture)
    s3_server.client.create_bucket(Bucket="cams")
    s3_server.client.put_object(Bucket="cams", Key="line/0.png", Body=picture)
    roots = f"{scans},s3://cams/line"
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots=roots, **s3_server.settings):
        hub.init(
            project="vision",
            experiment="e",
            url=live.url,
            token=live.token,
            capture_environment=False,
        ).finish()
        ana = person(live, "ana", "editor", "vision")
        bob = person(live, "bob", "commenter", "vision")
        oz = person(live, "oz", None)
        run = trained(live, ana, 0.9)
        put = httpx.put(
            f"{live.url}/api/2.0/mlflow-artifacts/artifacts/x/{run.id}/artifacts/cam/0.png",
            content=picture,
            headers={"Authorization": f"Bearer {ana}"},
            timeout=30,
        )
        assert put.status_code == 200, put.text
        rows = 4
        table = predictions(rows).with_columns(
            pl.lit(f"runs:/{run.id}/cam/0.png").alias("artifact"),
            pl.lit(str(scans / "0.png")).alias("scan"),
            pl.lit("s3://cams/line/0.png").alias("bucket"),
            pl.lit(str(tmp_path / "elsewhere.png")).alias("outside"),
            pl.lit("s3://cams/private/0.png").alias("other_prefix"),
        )
        client = hub.Client(live.url, ana)
        client.upload_dataset("vision", "predictions", table)
        version = client.models.register(run.id, "defect-detector", "model.onnx")
        started = as_person(live, ana, START, {"v": version["id"], "size": rows, "per": 1})
        queue_id = started["startReview"]["id"]

        base = f"{live.url}/api/v1/reviews/{queue_id}/samples"

        def image(
            token: str, column: str, position: int | str = 0, base: str = base
        ) -> httpx.Response:
            return httpx.get(
                f"{base}/{position}/image",
                params={"column": column},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )

        for column in ("artifact", "scan", "bucket"):
            shown = image(bob, column)
            assert shown.status_code == 200, (column, shown.text)
            assert shown.headers["content-type"] == "image/png" and shown.content == picture
        refused = {
            "outside": (400, "not inside a folder this hub may read"),
            "other_prefix": (400, "not under an S3 prefix"),
            "image": (400, "not under an S3 prefix"),  # the table's own s3:// addresses
            "line": (400, "does not name an image"),
            "nope": (404, "no column 'nope'"),
        }
        for column, (status, words) in refused.items():
            answer = image(bob, column)
            said = (answer.status_code, words in answer.json()["message"])
            assert said == (status, True), (column, answer.text)
        assert image(oz, "artifact").status_code == 404, "no role: as if there were no review"
        assert image(bob, "artifact", 99).status_code == 404
        assert image(bob, "artifact", "x").status_code == 400
        assert image(bob, "").status_code == 400
