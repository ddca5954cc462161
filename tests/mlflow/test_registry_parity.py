"""The model registry as MLflow clients use it, side by side with a real ``mlflow server``:
versions registered from outside (a source alone, or a run id that is not a run here), when a
model last changed, a deleted model's name taken again, copied versions and the phrases
clients match on."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.conftest import LiveHub
from tests.mlflow.sides import Side, same, unique


def _millis() -> int:
    return int(time.time() * 1000)


def test_versions_registered_from_outside_keep_their_run_id(
    sides: tuple[Side, Side], salon: LiveHub
) -> None:
    name = unique("outside")

    def register(client: MlflowClient) -> Any:
        client.create_registered_model(name)
        client.create_model_version(name, "runs:/elsewhere-1/model", "elsewhere-1")
        client.create_model_version(name, "s3://bucket/models/detector")
        try:
            client.create_model_version(name, "runs:/elsewhere-1/model", "elsewhere-2")
            mismatch = "ok"
        except MlflowException as exc:
            mismatch = (exc.error_code, "must identify the resource" in exc.message)
        found = client.search_model_versions(f"name = '{name}'", order_by=["version_number"])
        by_run = client.search_model_versions("run_id = 'elsewhere-1'")
        return (
            [(v.version, v.run_id, v.source) for v in found],
            [v.version for v in by_run],
            mismatch,
        )

    assert same(sides, register) == (
        [("1", "elsewhere-1", "runs:/elsewhere-1/model"), ("2", "", "s3://bucket/models/detector")],
        ["1"],
        ("INVALID_PARAMETER_VALUE", True),
    )
    # In Salon such a version has no run, and says what it was given.
    versions = salon.graphql(
        "query($p: String!, $m: String!) { model(project: $p, name: $m) "
        "{ ... on Model { versions { id number runId runReference } } } }",
        {"p": "mlflow", "m": name},
    )["data"]["model"]["versions"]
    assert sorted((v["number"], v["runId"], v["runReference"]) for v in versions) == [
        (1, None, "elsewhere-1"),
        (2, None, None),
    ]
    # Its card says where it came from rather than failing for want of a run.
    first = next(v["id"] for v in versions if v["number"] == 1)
    card = salon.graphql(
        "query($v: ID!) { modelCard(versionId: $v) { ... on ModelCard { markdown } } }",
        {"v": first},
    )["data"]["modelCard"]["markdown"]
    assert "Trained outside Salon (its run id there: `elsewhere-1`)" in card
    # Another system's run id is no attempt at a hidden run: the trail records no denial.
    denied = salon.graphql(
        '{ auditEvents(filter: {objectId: "elsewhere-1", outcome: "deny"}) '
        "{ ... on AuditPage { events { action } } } }"
    )["data"]["auditEvents"]["events"]
    assert denied == []


@pytest.mark.filterwarnings("ignore:.*stages.*:FutureWarning")  # deprecated, still used
def test_a_model_changes_when_mlflow_says_it_does(sides: tuple[Side, Side]) -> None:
    def change(client: MlflowClient) -> list[bool]:
        name = unique("changed")
        client.create_registered_model(name)
        seen: list[bool] = []

        def moved(read: Any, work: Any) -> None:
            before = _millis()
            time.sleep(0.005)
            work()
            seen.append(read().last_updated_timestamp >= before)

        model = lambda: client.get_registered_model(name)  # noqa: E731
        version = lambda: client.get_model_version(name, "1")  # noqa: E731
        moved(model, lambda: client.create_model_version(name, "s3://b/m", None))
        moved(model, lambda: client.update_registered_model(name, "about"))
        moved(version, lambda: client.update_model_version(name, "1", "first"))
        moved(version, lambda: client.transition_model_version_stage(name, "1", "Staging"))
        moved(model, lambda: client.transition_model_version_stage(name, "1", "None"))
        client.create_model_version(name, "s3://b/m2", None)
        moved(model, lambda: client.delete_model_version(name, "2"))
        renamed = f"{name}-renamed"
        before = _millis()
        time.sleep(0.005)
        client.rename_registered_model(name, renamed)
        seen.append(client.get_registered_model(renamed).last_updated_timestamp >= before)
        # Describing a version does not change its model.
        before = _millis()
        time.sleep(0.005)
        client.update_model_version(renamed, "1", "again")
        seen.append(client.get_registered_model(renamed).last_updated_timestamp < before)
        return seen

    assert same(sides, change) == [True] * 8


def test_a_deleted_models_name_can_be_taken_again(sides: tuple[Side, Side], salon: LiveHub) -> None:
    name = unique("again")

    def again(client: MlflowClient) -> Any:
        client.create_registered_model(name, description="first")
        client.create_model_version(name, "s3://b/first", None)
        client.delete_registered_model(name)
        client.create_registered_model(name, description="second")
        model = client.get_registered_model(name)
        return model.description, [v.version for v in model.latest_versions]

    assert same(sides, again) == ("second", [])
    # In Salon the deleted one stepped aside in the trash, still restorable.
    entries = salon.graphql('{ trash(project: "mlflow") { label kind } }')["data"]["trash"]
    assert [e["kind"] for e in entries if e["label"].startswith(name)] == ["MODEL"]


def test_copied_versions_download_from_the_original(sides: tuple[Side, Side]) -> None:
    def copy(client: MlflowClient) -> Any:
        name = unique("copied")
        client.create_registered_model(name)
        client.create_model_version(name, "runs:/src-run/model", "src-run", description="d")
        client.set_registered_model_alias(name, "champion", "1")
        made = client.copy_model_version(f"models:/{name}@champion", name)
        copied = client.get_model_version(name, made.version)
        return (
            made.version,
            copied.source == f"models:/{name}/1",
            copied.run_id,
            client.get_model_version_download_uri(name, made.version),
        )

    assert same(sides, copy) == ("2", True, "src-run", "runs:/src-run/model")


def test_the_phrases_clients_match_on(sides: tuple[Side, Side]) -> None:
    def refused(client: MlflowClient) -> list[Any]:
        name = unique("phrases")
        client.create_registered_model(name)
        said = []
        for call, phrase in (
            (lambda: client.get_registered_model(f"{name}-x"), "Registered Model with name="),
            (lambda: client.create_registered_model(name), f"Registered Model (name={name})"),
            (lambda: client.get_model_version(name, "7"), "Model Version (name="),
            (lambda: client.get_model_version(name, "seven"), "must be an integer, got 'seven'"),
            (lambda: client.get_run("0" * 32), "Run with id="),
        ):
            try:
                call()
                said.append("ok")
            except MlflowException as exc:
                said.append((exc.error_code, phrase in exc.message))
        return said

    answers = same(sides, refused)
    assert all(isinstance(a, tuple) and a[1] for a in answers), answers
