"""The same MLflow client calls against a real ``mlflow server`` and against the hub, compared:
results, order, and for what is refused the same ``error_code``. Each test names its own
experiments and models, so that the two servers are shared by the module."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException

from tests.mlflow.sides import Side, same, unique


def test_names_mlflow_refuses_are_refused(sides: tuple[Side, Side]) -> None:
    def log(client: MlflowClient) -> list[Any]:
        run = client.create_run(client.create_experiment(unique("names")))
        run_id = run.info.run_id
        tried: list[Any] = []
        for name in ("bad?name", "../up", "/root", "a//b", "ok/name-1.x y:z"):
            for call in (
                lambda n: client.log_metric(run_id, n, 1.0, step=0),
                lambda n: client.log_param(run_id, n, "v"),
                lambda n: client.set_tag(run_id, n, "v"),
                lambda n: client.log_batch(run_id, metrics=[Metric(n, 1.0, 0, 1)]),
            ):
                try:
                    call(name)
                    tried.append((name, "ok"))
                except MlflowException as exc:
                    tried.append((name, exc.error_code))
        return tried

    results = same(sides, log)
    assert ("bad?name", "INVALID_PARAMETER_VALUE") in results
    assert ("ok/name-1.x y:z", "ok") in results


def test_what_is_not_there_reads_as_empty_as_in_mlflow(sides: tuple[Side, Side]) -> None:
    def read(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("empty"))
        run = client.create_run(experiment)
        return (
            [r.info.run_id for r in client.search_runs([experiment])] == [run.info.run_id],
            client.get_metric_history(run.info.run_id, "never-logged"),
            [m.value for m in client.get_metric_history(str(uuid.uuid4().hex), "loss")],
        )

    same(sides, read)


def test_runs_starting_at_the_same_time_sort_as_in_mlflow(sides: tuple[Side, Side]) -> None:
    def names(client: MlflowClient) -> list[Any]:
        experiment = client.create_experiment(unique("ties"))
        made = [
            client.create_run(experiment, start_time=1_767_225_600_000, run_name=f"r{i}")
            for i in range(4)
        ]
        found = [r.info.run_id for r in client.search_runs([experiment])]
        # Ids differ between the servers: both order runs that tie by id.
        return [len(made), found == sorted(found)]

    same(sides, names)


def test_deleting_a_run_tag(sides: tuple[Side, Side]) -> None:
    def delete(client: MlflowClient) -> Any:
        run = client.create_run(client.create_experiment(unique("tags")))
        client.log_batch(run.info.run_id, tags=[RunTag("a", "1"), RunTag("b", "2")])
        client.delete_tag(run.info.run_id, "a")
        tags = {
            k: v
            for k, v in client.get_run(run.info.run_id).data.tags.items()
            if not k.startswith("mlflow.")
        }
        try:
            client.delete_tag(run.info.run_id, "never")
            missing = "ok"
        except MlflowException as exc:
            missing = exc.error_code
        return tags, missing

    assert same(sides, delete)[0] == {"b": "2"}


def test_endpoints_salon_leaves_out_answer_mlflows_error_shape(sides: tuple[Side, Side]) -> None:
    _, salon = sides
    for method, path in (
        ("GET", "/api/3.0/mlflow/traces/search"),
        ("POST", "/api/3.0/mlflow/traces"),
        ("GET", "/ajax-api/3.0/mlflow/traces/search"),
        ("POST", "/api/2.0/mlflow/no-such/call"),
    ):
        answer = salon.rest(method, path, json={})
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND", (path, answer.text)


def test_the_ajax_api_paths_answer_as_the_api_paths(sides: tuple[Side, Side]) -> None:
    name = unique("ajax")
    for side in sides:
        made = side.rest("POST", "/ajax-api/2.0/mlflow/experiments/create", json={"name": name})
        assert made.status_code == 200, (side.name, made.text)
        found = side.rest(
            "GET", "/ajax-api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}
        )
        assert found.json()["experiment"]["experiment_id"] == made.json()["experiment_id"]
        missing = side.rest(
            "GET", "/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "987654321"}
        )
        assert (missing.status_code, missing.json()["error_code"]) == (
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ), (side.name, missing.text)


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags a person set (each server adds its own: mlflow.*, salon.*)."""
    return {k: v for k, v in tags.items() if not k.startswith(("mlflow.", "salon."))}


def test_experiment_tags_and_renaming(sides: tuple[Side, Side]) -> None:
    def tag(client: MlflowClient) -> Any:
        name = unique("tagged")
        experiment = client.create_experiment(name, tags={"team": "cv", "stage": "explore"})
        client.set_experiment_tag(experiment, "stage", "final")
        client.set_experiment_tag(experiment, "owner", "ana")
        client.delete_experiment_tag(experiment, "owner")
        tags = user_tags(client.get_experiment(experiment).tags)
        client.rename_experiment(experiment, f"{name}-renamed")
        renamed = client.get_experiment(experiment).name == f"{name}-renamed"
        gone = client.get_experiment_by_name(name)
        other = client.create_experiment(unique("other"))
        try:
            client.rename_experiment(other, f"{name}-renamed")
            clash = "ok"
        except MlflowException as exc:
            clash = exc.error_code
        try:
            client.set_experiment_tag(experiment, "bad?key", "x")
            bad = "ok"
        except MlflowException as exc:
            bad = exc.error_code
        return tags, renamed, gone, clash, bad

    tags, renamed, gone, clash, bad = same(sides, tag)
    assert tags == {"team": "cv", "stage": "final"} and renamed and gone is None
    assert clash == "BAD_REQUEST" and bad == "INVALID_PARAMETER_VALUE"


def test_searching_experiments_by_name_and_tags_in_order(sides: tuple[Side, Side]) -> None:
    prefix = unique("search")

    def search(client: MlflowClient) -> Any:
        for index, team in enumerate(("cv", "nlp", "cv")):
            client.create_experiment(f"{prefix}-{index}", tags={"team": team})
        names = lambda found: [e.name for e in found]  # noqa: E731
        like = f"name LIKE '{prefix}-%'"
        return [
            names(client.search_experiments(filter_string=like)),
            names(client.search_experiments(filter_string=f"{like} AND tags.team = 'cv'")),
            names(client.search_experiments(filter_string=f"{like} AND tags.team != 'cv'")),
            names(client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-1'")),
            names(client.search_experiments(filter_string=like, order_by=["name DESC"])),
            names(client.search_experiments(filter_string=like, max_results=2)),
        ]

    found = same(sides, search)
    assert found[1] == [f"{prefix}-2", f"{prefix}-0"]  # newest first
    assert found[4] == [f"{prefix}-2", f"{prefix}-1", f"{prefix}-0"]

    def bad(client: MlflowClient) -> Any:
        return client.search_experiments(filter_string="name = ")

    assert same(sides, bad) == ("refused", "INVALID_PARAMETER_VALUE")


@pytest.mark.filterwarnings("ignore:.*stages.*:FutureWarning")  # deprecated, still used
def test_renaming_runs_and_registered_models_and_moving_stages(sides: tuple[Side, Side]) -> None:
    def rename(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("registry"))
        run = client.create_run(experiment, run_name="first-name")
        client.update_run(run.info.run_id, name="second-name")
        run_name = client.get_run(run.info.run_id).info.run_name
        name = unique("model")
        client.create_registered_model(name)
        for _ in range(3):
            client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
        client.transition_model_version_stage(name, "2", "Production")
        client.transition_model_version_stage(name, "3", "Staging")
        stages = [v.current_stage for v in client.search_model_versions(f"name = '{name}'")]
        latest = [
            (v.version, v.current_stage)
            for v in client.get_latest_versions(name, stages=["Production", "Staging"])
        ]
        every = [(v.version, v.current_stage) for v in client.get_latest_versions(name)]
        client.transition_model_version_stage(name, "2", "Archived")
        archived = client.get_model_version(name, "2").current_stage
        try:
            client.transition_model_version_stage(name, "1", "Shipping")
            bad = "ok"
        except MlflowException as exc:
            bad = exc.error_code
        client.rename_registered_model(name, f"{name}-v2")
        renamed = client.get_registered_model(f"{name}-v2").name == f"{name}-v2"
        try:
            client.get_registered_model(name)
            old = "found"
        except MlflowException as exc:
            old = exc.error_code
        return run_name, sorted(stages), latest, every, archived, bad, renamed, old

    found = same(sides, rename)
    assert found[0] == "second-name" and found[6] and found[7] == "RESOURCE_DOES_NOT_EXIST"
    assert found[2] == [("2", "Production"), ("3", "Staging")]


def test_searching_model_versions_with_like_in_tags_and_order(sides: tuple[Side, Side]) -> None:
    prefix = unique("versions")

    def search(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("versions"))
        runs = [client.create_run(experiment).info.run_id for _ in range(2)]
        for model in ("a", "b"):
            client.create_registered_model(f"{prefix}-{model}")
            for index, run_id in enumerate(runs):
                made = client.create_model_version(
                    f"{prefix}-{model}", f"runs:/{run_id}/model", run_id
                )
                client.set_model_version_tag(made.name, made.version, "fold", str(index))

        def listed(filter_string: str, order_by: list[str] | None = None) -> list[Any]:
            found = client.search_model_versions(filter_string, order_by=order_by)
            return [(v.name.removeprefix(prefix), v.version) for v in found]

        return [
            listed(f"name LIKE '{prefix}-%'"),
            listed(f"name = '{prefix}-a' AND tags.fold = '1'"),
            listed(f"name ILIKE '{prefix.upper()}-B'"),
            listed(f"name LIKE '{prefix}%' AND run_id IN ('{runs[0]}')"),
            listed(f"name LIKE '{prefix}%'", order_by=["version_number ASC"]),
            listed(f"name LIKE '{prefix}%'", order_by=["name DESC"]),
        ]

    found = same(sides, search)
    assert found[1] == [("-a", "2")] and len(found[0]) == 4

    def bad(client: MlflowClient) -> Any:
        return client.search_model_versions("name LIKE")

    assert same(sides, bad) == ("refused", "INVALID_PARAMETER_VALUE")


def test_metrics_logged_with_a_model_reach_it_and_logged_models_are_searched(
    sides: tuple[Side, Side],
) -> None:
    def log(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("logged"))
        run = client.create_run(experiment)
        run_id = run.info.run_id
        good = client.create_logged_model(experiment, source_run_id=run_id, name="good")
        weak = client.create_logged_model(experiment, source_run_id=run_id, params={"lr": "0.1"})
        client.log_metric(run_id, "accuracy", 0.93, step=1, model_id=good.model_id)
        client.log_batch(run_id, metrics=[Metric("accuracy", 0.61, 1, 2, model_id=weak.model_id)])
        shown = client.get_logged_model(good.model_id)
        metrics = [(m.key, m.value, m.step, m.run_id) for m in shown.metrics]

        def names(filter_string: str) -> list[str]:
            found = client.search_logged_models([experiment], filter_string=filter_string)
            return ["good" if m.name == "good" else "unnamed" for m in found]

        return (
            [(k, v, s, r == run_id) for k, v, s, r in metrics],
            weak.name != "model" and weak.name != good.name,
            sorted(client.get_run(run_id).data.metrics),  # the run keeps them too
            names("metrics.accuracy > 0.9"),
            names("params.lr = '0.1'"),
            names("name = 'good'"),
            names(""),
        )

    found = same(sides, log)
    assert found[0] == [("accuracy", 0.93, 1, True)] and found[1]
    assert found[2] == ["accuracy"] and found[3] == ["good"] and found[4] == ["unnamed"]


def test_a_runs_model_inputs_and_outputs_are_recorded(sides: tuple[Side, Side]) -> None:
    from mlflow.entities import LoggedModelInput, LoggedModelOutput

    def log(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("io"))
        trainer = client.create_run(experiment).info.run_id
        model = client.create_logged_model(experiment, source_run_id=trainer, name="m")
        client.log_outputs(trainer, [LoggedModelOutput(model.model_id, 3)])
        evaluator = client.create_run(experiment).info.run_id
        client.log_inputs(evaluator, models=[LoggedModelInput(model.model_id)])
        written = client.get_run(trainer).outputs
        read = client.get_run(evaluator).inputs
        return (
            [(o.model_id == model.model_id, o.step) for o in written.model_outputs],
            [i.model_id == model.model_id for i in read.model_inputs],
        )

    assert same(sides, log) == ([(True, 3)], [True])


def test_deleting_a_logged_model(sides: tuple[Side, Side]) -> None:
    def delete(client: MlflowClient) -> Any:
        experiment = client.create_experiment(unique("deleted-models"))
        run_id = client.create_run(experiment).info.run_id
        kept = client.create_logged_model(experiment, source_run_id=run_id, name="kept")
        gone = client.create_logged_model(experiment, source_run_id=run_id, name="gone")
        client.delete_logged_model(gone.model_id)
        try:
            client.get_logged_model(gone.model_id)
            read = "found"
        except MlflowException as exc:
            read = exc.error_code
        left = [m.name for m in client.search_logged_models([experiment])]
        return read, left, client.get_logged_model(kept.model_id).name

    assert same(sides, delete) == ("RESOURCE_DOES_NOT_EXIST", ["kept"], "kept")


def test_deleted_runs_and_experiments_read_as_in_mlflow(sides: tuple[Side, Side]) -> None:
    from mlflow.entities import ViewType

    def deleted(client: MlflowClient) -> Any:
        name = unique("deleted")
        experiment = client.create_experiment(name)
        kept = client.create_run(experiment, run_name="kept").info.run_id
        gone = client.create_run(experiment, run_name="gone").info.run_id
        client.delete_run(gone)

        def names(view: int) -> list[str]:
            found = client.search_runs([experiment], run_view_type=view)
            return sorted(r.info.run_name for r in found)

        runs = [names(ViewType.ACTIVE_ONLY), names(ViewType.DELETED_ONLY), names(ViewType.ALL)]
        client.delete_experiment(experiment)
        stage = client.get_experiment(experiment).lifecycle_stage
        listed = [
            e.name == name
            for e in client.search_experiments(
                view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'"
            )
        ]
        try:
            client.create_experiment(name)
            again = "ok"
        except MlflowException as exc:
            again = exc.error_code
        return runs, stage, listed, again, kept != gone

    found = same(sides, deleted)
    assert found[0] == [["kept"], ["gone"], ["gone", "kept"]] and found[1] == "deleted"


def test_searching_registered_models_by_name_and_tags_in_order(sides: tuple[Side, Side]) -> None:
    prefix = unique("models")

    def search(client: MlflowClient) -> Any:
        for index, team in enumerate(("cv", "nlp", "cv")):
            client.create_registered_model(f"{prefix}-{index}", tags={"team": team})

        def names(filter_string: str, order_by: list[str] | None = None) -> list[str]:
            found = client.search_registered_models(filter_string, order_by=order_by)
            return [m.name.removeprefix(prefix) for m in found]

        like = f"name LIKE '{prefix}-%'"
        return [
            names(like),
            names(f"{like} AND tags.team = 'cv'"),
            names(f"name ILIKE '{prefix.upper()}-1'"),
            names(like, order_by=["name DESC"]),
        ]

    found = same(sides, search)
    assert found[1] == ["-0", "-2"] and found[3] == ["-2", "-1", "-0"]
