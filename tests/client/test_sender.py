"""The process-wide sender against a real hub: many short runs go in few requests, the first
run of a project says at once what is wrong, a refused run warns without costing the others,
and runs ended without waiting still arrive when the script exits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

import hub
from hub.client import HubWarning
from hub.services.policy import audit
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.conftest import LiveHub
from tests.store.helpers import HELD, WORKING, held_change


def batch_requests(live: LiveHub) -> int:
    """How many run batches the hub has answered, from its Prometheus counters."""
    text = httpx.get(
        f"{live.url}/metrics", headers={"Authorization": f"Bearer {live.token}"}, timeout=30
    ).text
    found = re.findall(
        r'salon_http_requests_total\{[^}]*route="/api/v1/runs/batch"[^}]*\} (\S+)', text
    )
    return int(sum(float(value) for value in found))


def start(live: LiveHub, project: str = "sweep", **options: object) -> hub.Run:
    return hub.init(
        project=project,
        experiment="lr",
        url=live.url,
        token=live.token,
        capture_environment=False,
        **options,  # type: ignore[arg-type]
    )


def test_many_short_runs_go_to_the_hub_in_few_requests(hub_server: LiveHub) -> None:
    before = batch_requests(hub_server)
    runs = []
    for i in range(300):
        run = start(hub_server, name=f"trial-{i}", config={"lr": 10**-i, "seed": i})
        run.log({"loss": 1.0 / (i + 1), "acc": i / 300}, step=0)
        run.finish(wait=False)
        runs.append(run)
    # Each run's own flush: hub.flush() would also wait for other tests' runs, to hubs gone.
    assert all(run.flush(timeout=120) for run in runs)
    ids = [run.id for run in runs]
    requests = batch_requests(hub_server) - before
    assert requests < 100, f"{requests} requests for 300 runs: the sender does not batch"

    client = hub.Client(hub_server.url, hub_server.token)
    frame = client.runs("sweep")
    assert frame.height == 300 and set(frame["id"]) == set(ids)
    assert set(frame["status"]) == {"finished"}
    last = frame.filter(frame["name"] == "trial-299").row(0, named=True)
    assert last["params.seed"] == "299" and last["metrics.acc"] == pytest.approx(299 / 300)
    assert client.metrics(ids).height == 600


def test_a_run_s_next_request_waits_for_its_last_one(hub_server: LiveHub) -> None:
    """A run's points are being answered when it logs more and ends: those go only once the
    first request is answered, so the hub gets the run's batches and end in order."""
    start(hub_server).finish()
    run = start(hub_server, name="in-order")
    assert run.flush(timeout=30)
    HELD.clear()
    WORKING.clear()
    before = hub_server.store.db.change_counts()
    held = threading.Thread(
        target=hub_server.store.db.audited_write_sync,
        args=([audit.event(SYSTEM, "run.set_notes", "run", "held")], held_change),
    )
    held.start()
    try:
        assert WORKING.wait(30)
        run.log({"loss": 2.0}, step=0)
        flushing = threading.Thread(target=run.flush, kwargs={"timeout": 60})
        flushing.start()
        time.sleep(0.5)  # its first request is at the hub, waiting for the lock
        run.log({"loss": 1.0}, step=1)
        finishing = threading.Thread(target=run.finish)
        finishing.start()
        time.sleep(0.5)
        assert finishing.is_alive()
    finally:
        HELD.set()
    held.join(30)
    flushing.join(60)
    finishing.join(60)
    after = hub_server.store.db.change_counts()
    assert after["changes"] - before["changes"] == 3
    assert after["transactions"] - before["transactions"] == 3, "one request after the other"
    client = hub.Client(hub_server.url, hub_server.token)
    assert client.metrics([run.id])["value"].to_list() == [2.0, 1.0]
    listed = client.runs("sweep")
    assert listed.filter(listed["name"] == "in-order")["status"].to_list() == ["finished"]


def test_a_run_started_in_the_background_takes_params_and_tags_at_once(
    hub_server: LiveHub,
) -> None:
    start(hub_server).finish()  # the project is known: the next runs start in the background
    run = start(hub_server, name="later")
    run.log_params({"optimizer": {"name": "adamw"}})  # waits for the run's start
    run.set_tags({"team": "vision"})
    run.finish()
    row = hub.Client(hub_server.url, hub_server.token).run(run.id)
    assert {p["key"]: p["value"] for p in row["params"]} == {"optimizer.name": "adamw"}
    assert row["status"] == "FINISHED"


def test_the_first_run_of_a_project_says_at_once_what_is_wrong(hub_server: LiveHub) -> None:
    start(hub_server, project="quality").finish()
    viewer = person(hub_server, "vic", "viewer")
    with pytest.raises(hub.HubError, match="viewer"):
        hub.init(project="quality", url=hub_server.url, token=viewer, capture_environment=False)
    with pytest.raises(hub.HubError, match="name"):
        start(hub_server, project=" ")

    good = start(hub_server, name="good")
    refused = start(hub_server, name="too-long", config={"note": "x" * 100_000})
    refused.log({"loss": 1.0})
    good.log({"loss": 0.5})
    with pytest.warns(HubWarning, match="Salon refused run 'too-long'.*limit"):
        refused.finish()
    good.finish()
    assert refused.dropped_points == 1
    names = set(hub.Client(hub_server.url, hub_server.token).runs("sweep")["name"])
    assert names == {"good"}


SCRIPT = """
import hub
for i in range(60):
    run = hub.init(project="exit", experiment="sweep", name=f"t{i}", capture_environment=False)
    run.log({"loss": 1.0 / (i + 1)})
    run.finish(wait=False)
    if i == 29:  # the first half waited for on demand, the rest by the interpreter's exit
        assert hub.flush(timeout=60)
        print(len(hub.Client().runs("exit")))
"""


def test_runs_ended_without_waiting_arrive_when_the_script_exits(hub_server: LiveHub) -> None:
    env = {**os.environ, "SALON_URL": hub_server.url, "SALON_TOKEN": hub_server.token}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["30"]
    runs = hub.Client(hub_server.url, hub_server.token).runs("exit")
    assert runs.height == 60 and set(runs["status"]) == {"finished"}
