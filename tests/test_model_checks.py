"""A full promotion against a real local Ray cluster: a job check runs as a Ray job on a
held-out dataset version, fails and blocks the alias, a fixed version passes, two reviewers
judge its predictions, one approves, the policy moves the alias by itself, the owner's inbox and
a webhook hear of it, and the checks' GPU time is the model's cost."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hub
from hub.cli.local_ray import LocalRay
from tests.api.test_datasets import inspections, person
from tests.api.test_discussions import INBOX, as_person
from tests.api.test_models import POLICY, model, move, trained
from tests.api.test_reviews import START, judge, predictions
from tests.api.test_webhooks import FAST, Receiver, add_hook, serve_receiver
from tests.conftest import LiveHub, start_hub_on
from tests.processes import eventually as wait_for

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# What a team's evaluation script does: read the held-out data, load the model, judge it.
CHECK = """
import json, os, pyarrow.parquet as pq
rows = sum(pq.read_table(p).num_rows for p in os.environ["SALON_DATASET_PATH"].split(","))
source = os.environ["SALON_MODEL_SOURCE"]
print(f"evaluating {os.environ['SALON_MODEL']} v{os.environ['SALON_MODEL_VERSION']} on {rows} rows")
passed = "broken" not in source
print("SALON_CHECK " + json.dumps({"passed": passed, "detail": f"recall on {rows} held-out rows: "
                                   + ("0.94" if passed else "0.41, below 0.9")}))
"""


def eventually(check: Any, seconds: float = 120) -> Any:
    return wait_for(check, seconds, pause=0.25)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def live(tmp_path: Path, ray_head: LocalRay) -> Iterator[LiveHub]:
    for hub_ in start_hub_on(tmp_path, ray_head, **FAST):
        hub.init(
            project="vision",
            experiment="detector",
            url=hub_.url,
            token=hub_.token,
            capture_environment=False,
        ).finish()
        yield hub_


def test_a_job_check_blocks_a_bad_version_and_a_good_one_is_promoted(
    live: LiveHub, receiver: Receiver, tmp_path: Path
) -> None:
    ana = person(live, "ana", "editor", "vision")
    bob = person(live, "bob", "commenter", "vision")
    mia = person(live, "mia", "maintainer", "vision")
    hook = add_hook(live, receiver.url, ["model."])
    script = tmp_path / "evaluate.py"
    script.write_text(CHECK)
    holdout = hub.Client(live.url, ana).upload_dataset("vision", "holdout", inspections(800))
    models = hub.Client(live.url, ana).models
    models.register(trained(live, ana, 0.9).id, "defect-detector", "s3://m/v1.onnx")
    assert move(live, mia, 1)["version"] == 1
    rules = {
        "protected": ["production"],
        "approvals": 1,
        "autoMove": "production",
        "checks": [
            {"kind": "metric", "metric": "val/accuracy", "op": ">=", "value": 0.9},
            {
                "kind": "job",
                "name": "recall on held-out parts",
                "datasetVersion": holdout["id"],
                "entrypoint": f"{sys.executable} {script}",
            },
            {"kind": "review", "value": 0.75, "samples": 4},
        ],
    }
    set_to = as_person(live, mia, POLICY, {"p": "vision", "m": "defect-detector", "policy": rules})[
        "setModelPolicy"
    ]
    assert set_to["checks"][1] == {"kind": "job", "title": "recall on held-out parts"}

    broken = models.register(trained(live, ana, 0.95).id, "defect-detector", "s3://m/broken.onnx")
    assert [c["status"] for c in broken["checks"]] == ["passed", "queued", "queued"]
    hub.Client(live.url, bob).models.review(broken["id"], "approve", "Predictions look fine.")

    def job_check(version_id: str) -> dict[str, Any]:
        checks = hub.Client(live.url, ana).models.version(version_id)["checks"]
        return dict(checks[1]) if checks[1]["status"] in ("passed", "failed") else {}

    failed = eventually(lambda: job_check(broken["id"]))
    assert failed["status"] == "failed"
    assert failed["detail"] == "recall on 800 held-out rows: 0.41, below 0.9"
    query = "query($id: ID!) { modelVersion(id: $id) { ... on ModelVersion { checks { log } } } }"
    log = as_person(live, ana, query, {"id": broken["id"]})["modelVersion"]["checks"][1]["log"]
    assert "evaluating defect-detector v2 on 800 rows" in log
    assert model(live, ana)["aliases"][0]["version"] == 1, "the failed check blocks the alias"
    told = {n["entry"]["verb"] for n in as_person(live, ana, INBOX)["inbox"]}
    assert "model.check_failed" in told

    fixed = models.register(trained(live, ana, 0.95).id, "defect-detector", "s3://m/v3.onnx")
    hub.Client(live.url, bob).models.review(fixed["id"], "approve")
    assert eventually(lambda: job_check(fixed["id"]))["status"] == "passed"
    assert model(live, ana)["aliases"][0]["version"] == 1, "its predictions are not reviewed yet"
    hub.Client(live.url, ana).upload_dataset("vision", "predictions", predictions(40))
    review = as_person(live, ana, START, {"v": fixed["id"], "size": 4, "per": 2})["startReview"]
    cyd = person(live, "cyd", "commenter", "vision")
    for token in (bob, cyd):
        for position in range(4):
            judge(live, token, review["id"], position, position != 3 or token == bob)
    moved = eventually(lambda: model(live, ana)["aliases"][0]["version"] == 3 and model(live, ana))
    assert moved["moves"][0] == {
        "alias": "production",
        "version": 3,
        "previous": 1,
        "movedBy": "salon",
        "automatic": True,
    }
    jobs = live.graphql("{ clusterJobs { user project status } }")["data"]["clusterJobs"]
    assert {"user": "ana", "project": "vision", "status": "SUCCEEDED"} in jobs, "hers to pay"
    cost = live.graphql('{ clusterUsage(by: "model", period: "month") { who jobs } }')
    by_model = {r["who"]: r["jobs"] for r in cost["data"]["clusterUsage"]}  # others: no model
    assert by_model["defect-detector"] == 2, "both check jobs ran for the model's versions"

    def delivered() -> list[str]:
        return [json.loads(body)["type"] for _, body in receiver.received]

    kinds = eventually(lambda: "model.alias" in delivered() and delivered())
    assert {"model.register", "model.approve", "model.policy", "model.alias"} <= set(kinds)
    assert hook["__typename"] == "WebhookCreated"
