"""The registry workload: registering model versions and reading a model back, against MLflow's
model registry on its tracking server.

Salon's registration does more than MLflow's: it judges the model's policy checks (here a
metric threshold, no-worse-than-production and input-schema compatibility), records the audit
event and the activity entry, and answers with the version's checks and gate. MLflow records
the version and answers with it.
"""

from __future__ import annotations

import time

from bench.measure import median_ms
from bench.report import Result
from bench.workloads import Bench, mlflow_experiment, with_limit

INPUTS = {f"feature_{i}": "float32" for i in range(20)}
# What MLflow's get_registered_model + search_model_versions give back, asked of Salon.
READ = """query($p: String!, $m: String!) { model(project: $p, name: $m) { ... on Model {
  name description aliases { alias version } versions { id number source runId description
  aliases createdBy createdAt tags { key value } } } } }"""
POLICY = """mutation($p: String!, $m: String!) { setModelPolicy(project: $p, model: $m, policy: {
  protected: ["production"], approvals: 0, checks: [
    {kind: "metric", metric: "val/acc", op: ">=", value: 0.5},
    {kind: "no_worse", metric: "val/acc", by: 0.05}, {kind: "schema"}]}) { __typename } }"""


def registry(bench: Bench) -> list[Result]:
    versions = max(bench.sizes.runs // 5, 20)
    run = bench.init("bench-registry", "registry", name="trained")
    run.log({"val/acc": 0.9}, step=0)
    run.finish()
    salon = bench.salon()
    first = salon.models.register(run.id, "detector", "s3://models/detector/0.onnx", inputs=INPUTS)
    salon.query(POLICY, {"p": "bench-registry", "m": "detector"})
    salon.models.move_alias("bench-registry", "detector", "production", first["number"])
    with bench.probe("registry") as measured:
        for i in range(versions):
            made = salon.models.register(
                run.id, "detector", f"s3://models/detector/{i}.onnx", inputs=INPUTS
            )
    assert [c["status"] for c in made["checks"]] == ["passed"] * 3, made["checks"]
    salon_rate = versions / measured.seconds

    def salon_get() -> None:
        found = salon.query(READ, {"p": "bench-registry", "m": "detector"})["model"]
        assert len(found["versions"]) == versions + 1

    salon_read = median_ms(salon_get, bench.sizes.mlflow_repeats)
    salon.close()

    from mlflow.entities import Metric

    client = bench.mlflow()
    mlflow_run = client.create_run(mlflow_experiment(client, "bench-registry")).info.run_id
    client.log_batch(mlflow_run, metrics=[Metric("val/acc", 0.9, int(time.time() * 1000), 0)])
    client.create_registered_model("detector")
    start = time.perf_counter()
    for i in range(versions):
        client.create_model_version("detector", f"s3://models/detector/{i}.onnx", mlflow_run)
    mlflow_rate = versions / (time.perf_counter() - start)
    client.set_registered_model_alias("detector", "production", "1")

    def mlflow_read() -> None:
        client.get_registered_model("detector")
        found = client.search_model_versions("name = 'detector'", max_results=10_000)
        assert len(found) == versions

    mlflow_ms = median_ms(mlflow_read, bench.sizes.mlflow_repeats)
    return [
        with_limit(
            Result(
                f"register model versions ({versions})",
                "versions/s",
                True,
                salon_rate,
                mlflow_rate,
                "≥ 2x",
                target_ratio=2,  # issue 23
                detail="Salon: client.models.register, judging 3 policy checks each; MLflow: "
                "create_model_version; " + measured.cpu_note(),
            ),
            measured,
        ),
        Result(
            f"read a model with {versions + 1} versions",
            "ms",
            False,
            salon_read,
            mlflow_ms,
            "≥ 1x",
            target_ratio=1,
            detail="Salon: the model and its versions with the fields MLflow returns (number, "
            "source, run, description, aliases, creator, time, tags) over GraphQL; MLflow: "
            "get_registered_model + search_model_versions; median of "
            f"{bench.sizes.mlflow_repeats}",
        ),
    ]
