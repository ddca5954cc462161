"""The model registry on a real hub: versions from runs, the built-in checks, reviews, the gate
on protected aliases (which nobody passes while it is closed), automatic moves, notifications,
and bad, unauthorized and concurrent input."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hub
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.api.test_discussions import INBOX, as_person
from tests.conftest import LiveHub, graphql_call

POLICY = """mutation($p: String!, $m: String!, $policy: PolicyInput!) {
  setModelPolicy(project: $p, model: $m, policy: $policy) {
    __typename ... on ModelPolicy { protected approvals autoMove checks { kind title } }
    ... on Error { message } } }"""
MOVE = """mutation($p: String!, $m: String!, $a: String!, $v: Int) {
  moveModelAlias(project: $p, model: $m, alias: $a, version: $v) {
    __typename ... on AliasMove { alias version previous automatic } ... on Error { message } } }"""
MODEL = """query($p: String!, $m: String!) { model(project: $p, name: $m) {
  __typename ... on Error { message }
  ... on Model { name aliases { alias version movedBy } policy { approvals protected }
    moves { alias version previous movedBy automatic }
    versions { number aliases createdBy gate { open reasons approvals needed }
               checks { kind status detail } } } } }"""
CREATE = """mutation($p: String!, $m: String!) { createModel(project: $p, name: $m) {
  __typename ... on Model { name } ... on Error { message } } }"""
STRICT = {
    "protected": ["production"],
    "approvals": 1,
    "checks": [
        {"kind": "metric", "metric": "val/accuracy", "op": ">=", "value": 0.9},
        {"kind": "no_worse", "metric": "val/accuracy", "by": 0.01},
        {"kind": "schema"},
    ],
}
INPUTS = {"image_id": "string", "width": "int64", "pixels": "list<float>"}


def trained(live: LiveHub, token: str, accuracy: float, name: str = "train") -> hub.Run:
    run = hub.init(
        project="vision",
        experiment="detector",
        name=name,
        url=live.url,
        token=token,
        capture_environment=False,
    )
    for step, value in enumerate((0.5, 0.8, accuracy)):
        run.log({"val/accuracy": value}, step=step)
    run.finish()
    return run


def register(
    live: LiveHub, token: str, accuracy: float, inputs: Any = INPUTS, name: str = "defect-detector"
) -> dict[str, Any]:
    run = trained(live, token, accuracy)
    return hub.Client(live.url, token).models.register(
        run.id, name, "s3://models/defects/model.onnx", inputs=inputs, tags={"framework": "onnx"}
    )


def move(
    live: LiveHub,
    token: str,
    version: int | None,
    alias: str = "production",
    model: str = "defect-detector",
) -> dict[str, Any]:
    variables = {"p": "vision", "m": model, "a": alias, "v": version}
    result: dict[str, Any] = as_person(live, token, MOVE, variables)["moveModelAlias"]
    return result


def model(live: LiveHub, token: str, name: str = "defect-detector") -> dict[str, Any]:
    result: dict[str, Any] = as_person(live, token, MODEL, {"p": "vision", "m": name})["model"]
    return result


def policy(
    live: LiveHub, token: str, rules: dict[str, Any], name: str = "defect-detector"
) -> dict[str, Any]:
    variables = {"p": "vision", "m": name, "policy": rules}
    result: dict[str, Any] = as_person(live, token, POLICY, variables)["setModelPolicy"]
    return result


@pytest.fixture
def team(hub_server: LiveHub) -> dict[str, str]:
    hub.init(
        project="vision",
        experiment="detector",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    return {
        "ana": person(hub_server, "ana", "editor", "vision"),
        "bob": person(hub_server, "bob", "commenter", "vision"),
        "mia": person(hub_server, "mia", "maintainer", "vision"),
        "vic": person(hub_server, "vic", "viewer", "vision"),
    }


def test_a_promotion_through_checks_and_an_approval(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    ana, bob, mia = team["ana"], team["bob"], team["mia"]
    first = register(hub_server, ana, 0.91)
    assert (first["number"], first["checks"], first["gate"]["open"]) == (1, [], True)
    assert {i["name"]: i["type"] for i in first["inputSchema"]} == INPUTS
    assert move(hub_server, mia, 1)["version"] == 1, "the default policy asks for nothing"
    model_id = hub.Client(hub_server.url, bob).models.get("vision", "defect-detector")["id"]
    as_person(
        hub_server,
        bob,
        "mutation($id: ID!) { watch(kind: MODEL, id: $id, on: true) { __typename } }",
        {"id": model_id},
    )
    assert policy(hub_server, mia, STRICT)["approvals"] == 1

    worse = register(hub_server, ana, 0.85, inputs={**INPUTS, "width": "int32", "depth": "int8"})
    checks = {c["kind"]: c for c in worse["checks"]}
    assert [c["status"] for c in worse["checks"]] == ["failed", "failed", "failed"]
    assert checks["metric"]["detail"] == "val/accuracy is 0.85, not >= 0.9."
    assert "0.06 worse, more than the allowed 0.01" in checks["no_worse"]["detail"]
    assert "width is int32 here but int64 in version 1" in checks["schema"]["detail"]
    assert "depth (int8) is not an input of version 1" in checks["schema"]["detail"]
    blocked = move(hub_server, mia, 2)
    assert blocked["__typename"] == "ForbiddenError"
    assert blocked["message"] == (
        "Version 2 may not be production yet: 3 check(s) failed; 0 of 1 approval(s)."
    )

    fixed = register(hub_server, ana, 0.93, inputs={"image_id": "string", "width": "int64"})
    assert [c["status"] for c in fixed["checks"]] == ["passed", "passed", "passed"]
    assert fixed["gate"]["reasons"] == ["0 of 1 approval(s)"]
    own = as_person(
        hub_server,
        ana,
        "mutation($id: ID!) { reviewModelVersion(id: $id, "
        'verdict: "approve") { __typename ... on Error { message } } }',
        {"id": fixed["id"]},
    )["reviewModelVersion"]
    assert own == {
        "__typename": "ForbiddenError",
        "message": "You registered this version: someone else approves it.",
    }
    hub.Client(hub_server.url, bob).models.review(fixed["id"], "approve", "Looks right on line C.")
    assert hub.Client(hub_server.url, bob).models.version(fixed["id"])["gate"]["open"]
    moved = move(hub_server, mia, 3)
    assert (moved["version"], moved["previous"], moved["automatic"]) == (3, 1, False)

    lineage = as_person(
        hub_server,
        team["vic"],
        "query($id: ID!) { runModelVersions(runId: $id) { model number aliases } }",
        {"id": fixed["runId"]},
    )
    assert lineage["runModelVersions"] == [
        {"model": "defect-detector", "number": 3, "aliases": ["production"]}
    ]
    seen = model(hub_server, team["vic"])
    assert seen["aliases"] == [{"alias": "production", "version": 3, "movedBy": "mia"}]
    assert [(m["version"], m["previous"], m["movedBy"]) for m in seen["moves"]] == [
        (3, 1, "mia"),
        (1, None, "mia"),
    ]
    told = {(n["reason"], n["entry"]["verb"]) for n in as_person(hub_server, ana, INBOX)["inbox"]}
    assert {("model", "model.approve"), ("model", "model.alias")} <= told
    watched = {n["entry"]["summary"] for n in as_person(hub_server, bob, INBOX)["inbox"]}
    assert "moved production of model defect-detector to version 3 (was version 1)" in watched


def test_the_gate_holds_for_everyone(hub_server: LiveHub, team: dict[str, str]) -> None:
    """No role passes a closed gate: not an editor, not a maintainer of another project, not a
    site admin; weakening the policy does not open the gate of a version already waiting, and
    re-running checks judges them by the version's own policy."""
    ana, bob, mia = team["ana"], team["bob"], team["mia"]
    hub.init(
        project="quality",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    other = person(hub_server, "oli", "maintainer", "quality")
    register(hub_server, ana, 0.95)
    assert policy(hub_server, mia, STRICT)["__typename"] == "ModelPolicy"
    waiting = register(hub_server, ana, 0.95)
    assert waiting["gate"]["reasons"] == ["0 of 1 approval(s)"]
    assert move(hub_server, ana, 2)["message"].startswith("Your role on this project is editor")
    assert move(hub_server, other, 2)["__typename"] == "NotFoundError"
    assert move(hub_server, hub_server.token, 2)["__typename"] == "ForbiddenError", "admin"
    assert policy(hub_server, ana, {"approvals": 0})["__typename"] == "ForbiddenError"
    assert policy(hub_server, mia, {"approvals": 0})["approvals"] == 0
    assert move(hub_server, mia, 2)["__typename"] == "ForbiddenError", "registered under 1"
    again = as_person(
        hub_server,
        ana,
        "mutation($id: ID!) { rerunModelChecks(id: $id) { "
        "__typename ... on ModelVersion { gate { reasons } checks { status } } } }",
        {"id": waiting["id"]},
    )["rerunModelChecks"]
    assert again["gate"]["reasons"] == ["0 of 1 approval(s)"] and len(again["checks"]) == 3
    unprotected = move(hub_server, ana, 2, alias="staging")
    assert unprotected["version"] == 2, "editors move aliases the policy does not protect"

    changes = hub.Client(hub_server.url, bob).models
    with pytest.raises(hub.HubError, match="Say what should change"):
        changes.review(waiting["id"], "request_changes")
    changes.review(waiting["id"], "request_changes", "The threshold on line C is off.")
    eve = person(hub_server, "eve", "commenter", "vision")
    hub.Client(hub_server.url, eve).models.review(waiting["id"], "approve")
    gate = changes.version(waiting["id"])["gate"]
    assert gate["reasons"] == ["changes requested by 1 reviewer(s)"] and gate["approvals"] == 1
    changes.review(waiting["id"], "approve", "Fixed in the data, fine now.")
    assert changes.version(waiting["id"])["gate"]["open"]
    asyncio.run(access.revoke_role(hub_server.store, SYSTEM, "vision", "user", "bob"))
    asyncio.run(access.revoke_role(hub_server.store, SYSTEM, "vision", "user", "eve"))
    gate = hub.Client(hub_server.url, mia).models.version(waiting["id"])["gate"]
    assert gate["reasons"] == ["0 of 1 approval(s)"], "approvals of people without access lapse"


def test_an_alias_moves_by_itself_once_the_policy_is_satisfied(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    ana, bob, mia = team["ana"], team["bob"], team["mia"]
    assert (
        graphql_call(hub_server.url, ana, CREATE, {"p": "vision", "m": "ranker"})["data"][
            "createModel"
        ]["name"]
        == "ranker"
    )
    rules = {
        "protected": ["production"],
        "approvals": 1,
        "autoMove": "production",
        "checks": [{"kind": "metric", "metric": "val/accuracy", "op": ">", "value": 0.8}],
    }
    assert policy(hub_server, mia, rules, "ranker")["autoMove"] == "production"
    low = register(hub_server, ana, 0.7, name="ranker")
    hub.Client(hub_server.url, bob).models.review(low["id"], "approve")
    assert model(hub_server, ana, "ranker")["aliases"] == [], "a failed check keeps it"
    good = register(hub_server, ana, 0.9, name="ranker")
    assert model(hub_server, ana, "ranker")["aliases"] == []
    hub.Client(hub_server.url, bob).models.review(good["id"], "approve", "Good.")
    found = model(hub_server, ana, "ranker")
    assert found["aliases"] == [{"alias": "production", "version": 2, "movedBy": "salon"}]
    assert found["moves"][0]["automatic"] is True


def test_bad_input_is_refused_with_a_reason(hub_server: LiveHub, team: dict[str, str]) -> None:
    ana, mia, vic = team["ana"], team["mia"], team["vic"]
    models = hub.Client(hub_server.url, ana).models
    run = trained(hub_server, ana, 0.9)
    for kwargs, words in (
        ({"name": "m", "source": " "}, "Say where the model is"),
        ({"name": "m", "source": "x" * 3000}, "Say where the model is"),
        ({"name": "", "source": "model.onnx"}, "must not be empty"),
        ({"name": "m", "source": "m", "description": "d" * 20_001}, "longer than 20,000"),
        ({"name": "m", "source": "m", "inputs": {"a": ""}}, "has a type"),
        ({"name": "m", "source": "m", "tags": {f"k{i}": i for i in range(51)}}, "At most 50"),
    ):
        with pytest.raises(hub.HubError, match=words):
            models.register(run.id, **kwargs)
    with pytest.raises(hub.HubError, match="No run with id"):
        models.register("no-such-run", "m", "model.onnx")
    with pytest.raises(hub.HubError, match="Your role on this project is viewer"):
        hub.Client(hub_server.url, vic).models.register(run.id, "m", "model.onnx")
    models.register(run.id, "m", "model.onnx")
    for rules, words in (
        ({"approvals": 11}, "0 to 10 approvals"),
        ({"protected": []}, "at least one alias"),
        ({"protected": ["Prod!"]}, "An alias is 1 to 40"),
        ({"autoMove": "staging"}, "must be one the policy protects"),
        ({"checks": [{"kind": "vibes"}]}, "A check is one of"),
        ({"checks": [{"kind": "metric", "metric": "acc", "op": "~", "value": 1}]}, "Compare"),
        ({"checks": [{"kind": "metric", "metric": "acc"}]}, "finite number"),
        ({"checks": [{"kind": "job"}]}, "gives the command"),
        ({"checks": [{"kind": "schema"}] * 21}, "at most 20 checks"),
        ({"approverGroup": "nobody"}, "no group named"),
    ):
        answer = policy(hub_server, mia, rules, "m")
        assert words in answer.get("message", ""), (rules, answer)
    assert move(hub_server, mia, 9, model="m")["message"] == "Model m has no version 9."
    assert move(hub_server, mia, 1, alias="../etc", model="m")["__typename"] == "ValidationError"
    assert move(hub_server, mia, 1, model="nope")["__typename"] == "NotFoundError"
    assert move(hub_server, mia, 1, model="m")["version"] == 1
    assert move(hub_server, mia, 1, model="m")["message"] == "production is there already."
    assert move(hub_server, mia, None, model="m")["version"] is None, "removed"


def test_concurrent_registrations_and_moves(hub_server: LiveHub, team: dict[str, str]) -> None:
    ana, mia = team["ana"], team["mia"]
    runs = [trained(hub_server, ana, 0.9 + i / 100, name=f"r{i}") for i in range(6)]
    models = hub.Client(hub_server.url, ana).models
    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(lambda r: models.register(r.id, "twins", "model.onnx"), runs))
    assert sorted(v["number"] for v in made) == [1, 2, 3, 4, 5, 6]
    assert len(hub.Client(hub_server.url, ana).models.get("vision", "twins")["versions"]) == 6
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: move(hub_server, mia, n, model="twins"), range(1, 7)))
    won = [a for a in answers if a["__typename"] == "AliasMove"]
    lost = [a for a in answers if a["__typename"] != "AliasMove"]
    assert won and all("moved while you were deciding" in a["message"] for a in lost)
    final = model(hub_server, mia, "twins")
    assert final["moves"][0]["version"] == final["aliases"][0]["version"]
    assert len(final["moves"]) == len(won), "every move that answered is in the history"
