"""Model cards on a real hub: generated from the tracked facts (run, data, metrics, review per
slice, checks, approvals) with the sections owners write, exported as Markdown."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import hub
from tests.api.test_datasets import person
from tests.api.test_discussions import as_person
from tests.api.test_reviews import judge, queue, samples  # noqa: F401 (queue is a fixture)
from tests.conftest import LiveHub

CARD = """query($id: ID!) { modelCard(versionId: $id) { __typename ... on Error { message }
  ... on ModelCard { model version markdown sections { key title editable html } } } }"""
WRITE = """mutation($s: String!, $b: String!) { writeModelCard(project: "vision",
  model: "defect-detector", section: $s, body: $b) {
  __typename ... on ModelCardSection { key title html } ... on Error { message } } }"""


def test_a_card_from_tracked_facts_and_the_owners_words(
    hub_server: LiveHub,
    queue: dict[str, Any],  # noqa: F811
) -> None:
    people = queue["people"]
    ana, bob, cyd, vic, oz = (people[n] for n in ("ana", "bob", "cyd", "vic", "oz"))
    version_id = queue["version"]["id"]
    use = (
        'mutation($r: ID!) { useDataset(runId: $r, project: "vision", dataset: "predictions") '
        "{ __typename } }"
    )
    as_person(hub_server, ana, use, {"r": queue["version"]["runId"]})
    shown = samples(hub_server, bob, queue["id"], offset=0, limit=20)["samples"]
    for sample in shown:
        line = dict(zip(sample["columns"], sample["values"], strict=True))["line"]
        for token in (bob, cyd):
            ok = line != "C"  # the model is worse on line C
            judge(hub_server, token, queue["id"], sample["position"], ok, None if ok else "dent")
    intended = {"s": "intended_use", "b": "Flag **dents** on lines A and B."}
    written = as_person(hub_server, ana, WRITE, intended)
    assert written["writeModelCard"] == {
        "__typename": "ModelCardSection",
        "key": "intended_use",
        "title": "Intended use",
        "html": "<p>Flag <strong>dents</strong> on lines A and B.</p>\n",
    }
    for token, variables, words in (
        (bob, {"s": "limitations", "b": "x"}, "ForbiddenError"),
        (ana, {"s": "secrets", "b": "x"}, "ValidationError"),
        (ana, {"s": "limitations", "b": "x" * 20_001}, "ValidationError"),
    ):
        assert (
            as_person(hub_server, token, WRITE, variables)["writeModelCard"]["__typename"] == words
        )

    card = as_person(hub_server, vic, CARD, {"id": version_id})["modelCard"]
    assert (card["model"], card["version"]) == ("defect-detector", 1)
    titles = [(s["title"], s["editable"]) for s in card["sections"]]
    assert titles[:3] == [("The model", False), ("Intended use", True), ("Out-of-scope uses", True)]
    text = card["markdown"]
    assert text.startswith("# Model card: defect-detector, version 1\n")
    assert "Flag **dents** on lines A and B." in text
    assert "- input: **predictions** version 1 (300 rows)" in text
    assert "- evaluated on: **predictions** version 1 (300 rows), 20 sampled for review" in text
    assert "| val/accuracy | 0.9 |" in text
    lines = {
        s["position"]: dict(zip(s["columns"], s["values"], strict=True))["line"] for s in shown
    }
    right = sum(1 for line in lines.values() if line != "C")
    assert f"Reviewers judged **{right / 20:.0%}** of 20 samples correct" in text
    assert "By line:" in text and "| C | " in text and "| 0% |" in text
    assert "inspector_email" not in text, "never sliced by personal data"
    assert "_Not written yet._" in text, "the sections nobody wrote say so"
    assert (
        as_person(hub_server, oz, CARD, {"id": version_id})["modelCard"]["__typename"]
        == "NotFoundError"
    )
    assert hub.Client(hub_server.url, vic).models.card(version_id) == text


def test_owners_write_the_card_at_the_same_time(hub_server: LiveHub, queue: dict[str, Any]) -> None:  # noqa: F811
    """Two owners saving different sections at once keep both; a description too."""
    ana = queue["people"]["ana"]
    mia = person(hub_server, "mia", "editor", "vision")
    work = [
        (ana, "limitations", "Not for line D."),
        (mia, "how_to_use", "Call the endpoint."),
        (ana, "ethics", "No people in the images."),
        (mia, "out_of_scope", "Paint."),
    ]

    def write(token: str, section: str, body: str) -> str:
        said = as_person(hub_server, token, WRITE, {"s": section, "b": body})
        return str(said["writeModelCard"]["__typename"])

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda w: write(*w), work))
    assert answers == ["ModelCardSection"] * 4
    card = hub.Client(hub_server.url, ana).models.card(queue["version"]["id"])
    assert all(body in card for _, _, body in work)
    described = as_person(
        hub_server,
        mia,
        'mutation { describeModel(project: "vision", model: '
        '"defect-detector", description: "Finds dents.") { ... on Model { '
        "description } } }",
    )
    assert described["describeModel"]["description"] == "Finds dents."
    too_long = as_person(
        hub_server,
        mia,
        "mutation($d: String!) { describeModel(project: "
        '"vision", model: "defect-detector", description: $d) { __typename } }',
        {"d": "x" * 20_001},
    )
    assert too_long["describeModel"]["__typename"] == "ValidationError"
