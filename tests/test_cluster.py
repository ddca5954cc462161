"""The GPU cluster against a real local Ray cluster (a head on 127.0.0.1 with 4 logical GPUs):
jobs submitted by different people through Salon, watched until they finish, the sampled
history, GPU-hours checked against the jobs' own times, stopping, logs, and the cluster going
away mid-sampling and coming back."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import psutil
import pytest

import hub
from connectors.base import ConnectorError
from connectors.ray import RayCluster
from hub.cli.local_ray import LocalRay
from hub.services.identity import accounts
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.conftest import LiveHub, graphql_call, start_hub_on, start_ray, stop_ray
from tests.processes import eventually as wait_for

pytestmark = [pytest.mark.ray, pytest.mark.slow]
JOBS = """{ clusterJobs { id status user project gpus startedAt endedAt } }"""
CLUSTER = "{ cluster { configured reachable problem gpus gpusUsed nodes { gpus alive } } }"
USAGE = """query($by: String!, $period: String!) { clusterUsage(by: $by, period: $period) {
  who gpuHours cpuHours jobs } }"""


def eventually(check: Callable[[], Any], seconds: float = 90) -> Any:
    return wait_for(check, seconds, pause=0.25)


def sleep_for(seconds: float, say: str = "") -> str:
    return f"{sys.executable} -c \"import time; print('{say}'); time.sleep({seconds})\""


@pytest.fixture
def live(tmp_path: Path, ray_head: LocalRay) -> Iterator[LiveHub]:
    for hub_ in start_hub_on(tmp_path, ray_head):
        hub.init(
            project="vision",
            experiment="e",
            url=hub_.url,
            token=hub_.token,
            capture_environment=False,
        ).finish()
        yield hub_


def jobs_by_id(live: LiveHub, token: str | None = None) -> dict[str, dict[str, Any]]:
    found = graphql_call(live.url, token or live.token, JOBS)["data"]["clusterJobs"]
    return {j["id"]: j for j in found}


def test_jobs_by_two_people_their_history_and_gpu_hours(live: LiveHub) -> None:
    ana = person(live, "ana", "editor", "vision")
    bob = person(live, "bob", "editor", "vision")
    asyncio_run(accounts.create_group(live.store, SYSTEM, "vision-team"))
    asyncio_run(accounts.add_member(live.store, SYSTEM, "vision-team", "ana"))
    eventually(lambda: graphql_call(live.url, ana, CLUSTER)["data"]["cluster"]["gpus"] == 4)
    began = datetime.now(UTC).isoformat()
    first = hub.Client(live.url, ana).submit_job(sleep_for(4, "training"), project="vision", gpus=2)
    second = hub.Client(live.url, bob).submit_job(sleep_for(2), project="vision", gpus=1, cpus=0.5)
    assert (first["user"], first["gpus"], first["status"]) == ("ana", 2, "PENDING")
    busy = eventually(
        lambda: (
            (c := graphql_call(live.url, ana, CLUSTER)["data"]["cluster"])["gpusUsed"] >= 1 and c
        )
    )
    assert busy["reachable"] and busy["nodes"][0]["alive"]
    done = eventually(
        lambda: (
            (j := jobs_by_id(live))
            and all(j[x["id"]]["status"] == "SUCCEEDED" for x in (first, second))
            and j
        )
    )
    a, b = done[first["id"]], done[second["id"]]
    assert (a["user"], a["project"], b["user"]) == ("ana", "vision", "bob")

    def hours(job: dict[str, Any]) -> float:
        from datetime import datetime

        span = datetime.fromisoformat(job["endedAt"]) - datetime.fromisoformat(job["startedAt"])
        return job["gpus"] * span.total_seconds() / 3600

    by_person = {
        r["who"]: r
        for r in graphql_call(live.url, ana, USAGE, {"by": "person", "period": "day"})["data"][
            "clusterUsage"
        ]
    }
    # Both jobs may straddle midnight UTC: sum the days.
    assert by_person["ana"]["gpuHours"] == pytest.approx(hours(a), rel=1e-6)
    assert by_person["bob"]["gpuHours"] == pytest.approx(hours(b), rel=1e-6)
    assert by_person["bob"]["cpuHours"] == pytest.approx(hours(b) / 2, rel=1e-6)
    by_project = graphql_call(live.url, bob, USAGE, {"by": "project", "period": "month"})["data"][
        "clusterUsage"
    ]
    assert sum(r["gpuHours"] for r in by_project if r["who"] == "vision") == pytest.approx(
        hours(a) + hours(b), rel=1e-6
    )
    teams = graphql_call(live.url, bob, USAGE, {"by": "team", "period": "week"})
    by_team = {r["who"]: r["gpuHours"] for r in teams["data"]["clusterUsage"]}
    assert by_team["vision-team"] == pytest.approx(hours(a), rel=1e-6)
    assert by_team["no team"] == pytest.approx(hours(b), rel=1e-6)
    # Buckets of a few seconds over the test's own minutes: each holds the samples taken then.
    query = "query($s: DateTime!) { clusterHistory(since: $s) { gpus gpusUsed } }"
    history = graphql_call(live.url, ana, query, {"s": began})["data"]["clusterHistory"]
    assert max(p["gpusUsed"] for p in history) >= 1 and max(p["gpus"] for p in history) == 4
    logs = graphql_call(
        live.url,
        ana,
        "query($id: ID!) { jobLogs(id: $id) { __typename ... on JobLogs { text } } }",
        {"id": first["id"]},
    )
    # a line of the job's own output: Ray's first line names the entrypoint, which says it too
    assert "training" in logs["data"]["jobLogs"]["text"].splitlines()


def test_a_job_shows_running_and_stopped_within_seconds_between_rare_samples(
    tmp_path: Path, ray_head: LocalRay
) -> None:
    """The hub samples the cluster rarely (here once an hour), but after a job is submitted or
    stopped it looks every second for a while: the job shows running, then stopped, without
    waiting for the next sample."""
    for live in start_hub_on(tmp_path, ray_head, ray_sample_seconds=3600):
        hub.init(
            project="vision", url=live.url, token=live.token, capture_environment=False
        ).finish()
        ana = person(live, "ana", "editor", "vision")
        job = hub.Client(live.url, ana).submit_job(sleep_for(300), project="vision", gpus=1)

        def status(live: LiveHub = live, job_id: str = job["id"]) -> str:
            return str(jobs_by_id(live)[job_id]["status"])

        eventually(lambda: status() == "RUNNING", 60)
        hub.Client(live.url, ana).stop_job(job["id"])
        eventually(lambda: status() == "STOPPED", 60)


def test_stopping_is_for_the_owner_and_bad_jobs_are_refused(live: LiveHub) -> None:
    ana = person(live, "ana", "editor", "vision")
    bob = person(live, "bob", "editor", "vision")
    viewer = person(live, "vic", "viewer", "vision")
    outsider = person(live, "oz", None)
    long = hub.Client(live.url, ana).submit_job(sleep_for(120), project="vision", gpus=1)
    with pytest.raises(hub.HubError, match="Only whoever submitted a job"):
        hub.Client(live.url, bob).stop_job(long["id"])
    with pytest.raises(hub.HubError, match="No job with id"):
        hub.Client(live.url, outsider).stop_job(long["id"])
    assert hub.Client(live.url, ana).stop_job(long["id"]) in (True, False)
    eventually(lambda: jobs_by_id(live)[long["id"]]["status"] == "STOPPED")
    for token, values, words in (
        (viewer, {"gpus": 1}, "needs editor"),
        (outsider, {"gpus": 1}, "No project named"),
        (ana, {"gpus": 100}, "0 to 64 GPUs"),
        (ana, {"gpus": -1}, "0 to 64 GPUs"),
    ):
        with pytest.raises(hub.HubError, match=words):
            hub.Client(live.url, token).submit_job("echo hi", project="vision", **values)
    with pytest.raises(hub.HubError, match="Give the command"):
        hub.Client(live.url, ana).submit_job("  ", project="vision")
    with pytest.raises(hub.HubError, match="not a job id"):
        hub.Client(live.url, ana).stop_job("../../etc")


def test_the_cluster_going_away_is_shown_and_history_survives(tmp_path: Path) -> None:
    head = start_ray()
    folder = head.temp_dir
    port = int(head.dashboard.rsplit(":", 1)[1])
    try:
        for live in start_hub_on(tmp_path, head):

            def seen(live: LiveHub = live) -> dict[str, Any]:
                return dict(graphql_call(live.url, live.token, CLUSTER)["data"]["cluster"])

            eventually(lambda: seen()["gpus"] == 4)
            # The machine dies: killed at once, Ray cannot mark its node dead on the way out.
            ray = psutil.Process(head.process.pid)
            family = [ray, *ray.children(recursive=True)]
            for process in family:
                with contextlib.suppress(psutil.NoSuchProcess):  # a helper that just ended
                    process.kill()
            psutil.wait_procs(family, timeout=30)
            gone = eventually(lambda: not (c := seen())["reachable"] and c)
            assert "Cannot reach the Ray cluster" in gone["problem"]
            assert gone["nodes"] and not any(n["alive"] for n in gone["nodes"]), gone
            assert gone["gpus"] == gone["gpusUsed"] == 0, "nothing is known to be up"
            history = graphql_call(live.url, live.token, "{ clusterHistory { gpus } }")
            assert history["data"]["clusterHistory"], "samples from before stay"
            head = start_ray(folder, dashboard_port=port, token=head.token)
            back = eventually(lambda: (c := seen())["reachable"] and c["gpus"] == 4 and c, 120)
            assert back["problem"] is None
    finally:
        stop_ray(head)
        shutil.rmtree(folder, ignore_errors=True)


def test_without_a_cluster_jobs_are_refused_with_a_reason(hub_server: LiveHub) -> None:
    hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    state = hub_server.graphql(CLUSTER)["data"]["cluster"]
    assert (state["configured"], state["reachable"], state["nodes"]) == (False, False, [])
    with pytest.raises(hub.HubError, match="no Ray cluster"):
        hub.Client(hub_server.url, hub_server.token).submit_job("echo hi", project="vision")


def asyncio_run(work: Any) -> Any:
    import asyncio

    return asyncio.run(work)


def test_a_job_for_a_run_shows_on_the_run_page(
    live: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.dashboard.test_pages import assert_clean, open_page

    ana = person(live, "ana", "editor", "vision")
    run = hub.init(
        project="vision",
        experiment="e",
        name="retrain",
        url=live.url,
        token=ana,
        capture_environment=False,
    )
    job = hub.Client(live.url, ana).submit_job(
        sleep_for(1, "epoch 1 done"), project="vision", gpus=1, run_id=run.id
    )
    query = "query($id: ID!) { clusterJobs(runId: $id) { id status } }"
    eventually(
        lambda: (
            graphql_call(live.url, ana, query, {"id": run.id})["data"]["clusterJobs"]
            == [{"id": job["id"], "status": "SUCCEEDED"}]
        )
    )
    cost = graphql_call(live.url, ana, USAGE, {"by": "run", "period": "month"})["data"]
    per_run = {r["who"]: r["gpuHours"] for r in cost["clusterUsage"]}  # others: the session's
    assert per_run["retrain"] > 0 and set(per_run) <= {"retrain", "no run"}
    other = graphql_call(live.url, ana, query, {"id": "no-such-run"}, expect_errors=True)
    assert "No run with id" in other["errors"][0]["message"]
    monkeypatch.setenv("SALON_URL", live.url)
    monkeypatch.setenv("SALON_TOKEN", ana)
    page = open_page("run", id=run.id)
    assert_clean(page)
    (shown,) = [e for e in page.expander if e.label.startswith("succeeded · 1 GPUs · ana")]
    assert not shown.code, "the logs are read only once the job is opened"
    page.session_state[f"job-logs:{job['id']}"] = True  # as opening it in the browser does
    page.run()
    assert_clean(page)
    (shown,) = [e for e in page.expander if e.label.startswith("succeeded · 1 GPUs · ana")]
    assert "epoch 1 done" in shown.code[0].value
    run.finish()


def test_jobs_from_the_command_line(live: LiveHub) -> None:
    from tests.test_admin_cli import ok, salon

    ana = person(live, "ana", "editor", "vision")
    said = ok(
        salon(
            live,
            "job",
            "submit",
            "vision",
            "--gpus",
            "1",
            "--",
            sys.executable,
            "-c",
            "print('from the command line')",
            token=ana,
        )
    )
    job_id = said.split()[1]
    assert said.startswith("Submitted salon-") and "(1 GPUs) for vision." in said
    eventually(lambda: jobs_by_id(live).get(job_id, {}).get("status") == "SUCCEEDED")
    assert "from the command line" in ok(salon(live, "job", "logs", job_id, token=ana))
    refused = salon(live, "job", "submit", "vision", "--gpus", "99", "--", "true", token=ana)
    assert refused.returncode != 0 and "0 to 64 GPUs" in refused.stderr


HOLDERS = """{ gpuHolders { __typename ... on GpuHolders { outsideJobs holders {
  kind name gpus rayJobId pid job { id user project } } } ... on Error { message } } }"""
NOTEBOOK = """
import time, ray
ray.init(address={gcs!r}, logging_level="ERROR")

@ray.remote(num_gpus=1, num_cpus=0)
class Trainer:
    def ready(self):
        return True

@ray.remote(num_gpus=1, num_cpus=0)
def evaluate():
    time.sleep(300)

trainer = Trainer.remote()
ray.get(trainer.ready.remote())
pending = evaluate.remote()
print("holding", flush=True)
time.sleep(300)
"""


def test_gpus_held_outside_jobs_are_listed(
    live: LiveHub, ray_head: LocalRay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's ray.init() holds GPUs through an actor and a task that no job accounts
    for: the hub lists them apart from a job's own, which it traces to the job, and the
    Resources page warns about them."""
    import subprocess

    from tests.dashboard.test_pages import assert_clean, open_page

    ana = person(live, "ana", "editor", "vision")
    outsider = person(live, "oz", None)
    notebook = subprocess.Popen(
        [sys.executable, "-c", NOTEBOOK.format(gcs=ray_head.gcs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **ray_head.driver_env},
    )
    try:
        job = hub.Client(live.url, ana).submit_job(sleep_for(300), project="vision", gpus=1)

        def holders(token: str) -> dict[str, Any]:
            return dict(graphql_call(live.url, token, HOLDERS)["data"]["gpuHolders"])

        seen = eventually(
            lambda: (
                (h := holders(ana))["outsideJobs"] >= 2
                and any(x["job"] and x["job"]["id"] == job["id"] for x in h["holders"])
                and h
            ),
            120,
        )
        outside = {(x["kind"], x["name"]): x for x in seen["holders"] if x["job"] is None}
        assert outside[("actor", "Trainer")]["gpus"] == 1
        assert outside[("task", "evaluate")]["gpus"] == 1
        assert outside[("actor", "Trainer")]["pid"] > 0
        assert (
            outside[("actor", "Trainer")]["rayJobId"] == outside[("task", "evaluate")]["rayJobId"]
        )
        (mine,) = [x for x in seen["holders"] if x["job"] and x["job"]["id"] == job["id"]]
        assert (mine["gpus"], mine["job"]["user"], mine["job"]["project"]) == (1, "ana", "vision")
        assert seen["holders"][0]["job"] is None, "those outside jobs come first"
        hidden = holders(outsider)
        (theirs,) = [x for x in hidden["holders"] if x["job"] and x["job"]["id"] == job["id"]]
        assert theirs["name"] == "(hidden: not your project)"
        eventually(lambda: graphql_call(live.url, ana, CLUSTER)["data"]["cluster"]["gpusUsed"] >= 3)
        monkeypatch.setenv("SALON_URL", live.url)
        monkeypatch.setenv("SALON_TOKEN", ana)
        page = open_page("resources")
        assert_clean(page)
        assert "2 GPU(s) are held outside any job" in page.warning[0].value
        (table,) = [e for e in page.expander if e.label.startswith("Who holds the GPUs now")]
        shown = table.dataframe[0].value
        assert {"actor Trainer", "task evaluate"} <= set(shown["what"])
        assert "ana · vision" in set(shown["job"])
    finally:
        notebook.kill()
        notebook.wait()
        hub.Client(live.url, ana).stop_job(job["id"])
    eventually(lambda: holders(ana)["outsideJobs"] == 0, 120)


def test_gpu_holders_without_a_cluster_say_why(hub_server: LiveHub) -> None:
    answer = hub_server.graphql(HOLDERS)["data"]["gpuHolders"]
    assert "no Ray cluster" in answer["message"]


def test_the_local_head_lets_in_only_who_has_its_token(ray_head: LocalRay) -> None:
    """Ray's GCS and raylet listen on every interface whatever the node address: the local head
    runs with Ray's token authentication, so neither its dashboard nor its GCS serves anyone
    without the token (a driver elsewhere on the network, or a forged one)."""
    bare = httpx.get(f"{ray_head.dashboard}/api/jobs/", timeout=10)
    assert bare.status_code == 401
    with pytest.raises(ConnectorError, match="set SALON_RAY_TOKEN"):
        RayCluster(ray_head.dashboard).jobs()
    with pytest.raises(ConnectorError, match="refused the token given"):
        RayCluster(ray_head.dashboard, "forged").jobs()
    signed = RayCluster(ray_head.dashboard, ray_head.token)
    signed.check()
    assert isinstance(signed.jobs(), list)
    # The GCS itself (what ray.init(address=...) talks to), asked as Ray's own clients ask.
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(ray_head.gcs) as channel:
        gcs = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        for metadata in ([], [("authorization", "Bearer forged")]):
            with pytest.raises(grpc.RpcError) as refused:
                gcs.GetAllNodeInfo(
                    gcs_service_pb2.GetAllNodeInfoRequest(), timeout=10, metadata=metadata
                )
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        signed_in = [("authorization", f"Bearer {ray_head.token}")]
        nodes = gcs.GetAllNodeInfo(
            gcs_service_pb2.GetAllNodeInfoRequest(), timeout=10, metadata=signed_in
        )
        assert len(nodes.node_info_list) == 1


def test_a_local_head_that_loses_a_port_is_started_again_and_stops_its_jobs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ports are chosen free, then bound by Ray a moment later: on a busy machine another
    process can take one in between, and Ray's head stops. The head is started again on new
    ports. (The race cannot be timed from a test, so the first port handed to Ray is one this
    test already listens on, as the other process would.)

    Stopping the head stops the jobs still running on it first, politely: left running, they
    held the head's own stop for half a minute, and it was killed."""
    import socket

    from hub.cli import local_ray

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        chosen = iter([taken.getsockname()[1]])
        free = local_ray.free_port
        monkeypatch.setattr(local_ray, "free_port", lambda: next(chosen, None) or free())
        head = local_ray.start(1)
    told = tmp_path / "told"
    job = tmp_path / "train.py"
    job.write_text(
        "import pathlib, signal, sys, time\n"
        "def stop(*_):\n"
        f"    pathlib.Path({str(told)!r}).write_text('stop')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('training', flush=True)\n"
        "time.sleep(300)\n"
    )
    try:
        log = head.log.read_text()
        assert "already occupied" in log
        assert "starting it again (2/3)" in log
        cluster = RayCluster(head.dashboard, head.token)
        submitted = cluster.submit(
            "long-training", f"{sys.executable} {job}", gpus=1, cpus=0, metadata={}
        )
        # the job's own line, printed once its handler is set: Ray's first line of the log
        # ("Running entrypoint for job long-training: ...") says "training" before it starts
        eventually(lambda: "training" in cluster.logs(submitted).splitlines())
        cluster.close()
    finally:
        local_ray.remove(head)
    assert head.process.returncode != -9, "the head had to be killed"
    assert told.read_text() == "stop", "the job was asked to stop"
    assert not head.temp_dir.exists()
