"""The Python client against a real hub served by uvicorn."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import hub
from hub.client import HubWarning, environment
from hub.client.sender import jittered
from hub.services.identity.tokens import create_admin_token_sync
from hub.settings import Settings
from hub.store import open_store
from tests.conftest import LiveHub, free_port, serve_in_thread


def start(live: LiveHub, **options: object) -> hub.Run:
    return hub.init(
        project="e2e",
        experiment="client",
        config={"lr": 0.01, "optimizer": {"name": "adamw", "betas": [0.9, 0.99]}},
        tags={"team": "vision"},
        url=live.url,
        token=live.token,
        capture_environment=False,
        **options,  # type: ignore[arg-type]
    )


def test_log_while_another_client_reads(hub_server: LiveHub) -> None:
    run = start(hub_server, flush_interval=0.05)
    reader = hub.Client(hub_server.url, hub_server.token)
    seen_counts = []
    for step in range(2000):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 2000})
        if step % 500 == 499:
            # While training goes on, the reader sees the points arrive (within seconds).
            deadline = time.monotonic() + 30
            while (seen := reader.metrics([run.id], ["loss"]).height) < step + 1:
                assert time.monotonic() < deadline, f"only {seen} of {step + 1} points arrived"
                time.sleep(0.05)
            seen_counts.append(seen)
    run.finish()
    assert seen_counts == [500, 1000, 1500, 2000]
    points = reader.metrics([run.id])
    assert points.columns == ["run_id", "key", "step", "timestamp", "value"]
    assert points.height == 4000
    loss = points.filter(pl.col("key") == "loss").sort("step")
    assert loss["step"].to_list() == list(range(2000))
    assert loss["value"][0] == 1.0
    assert points["timestamp"].dtype == pl.Datetime("us", "UTC")

    frame = reader.runs("e2e", filter="metrics.acc > 0.9 and params.`optimizer.name` = 'adamw'")
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["status"] == "finished"
    assert row["params.lr"] == "0.01" and row["params.optimizer.betas"] == "[0.9, 0.99]"
    assert row["tags.team"] == "vision"
    assert row["metrics.loss"] == pytest.approx(1 / 2000)
    downsampled = reader.metrics([run.id], ["loss"], max_points=100)
    assert 0 < downsampled.height <= 100
    with pytest.raises(hub.HubError, match="ends too early"):
        reader.runs("e2e", filter="metrics.acc >")


def test_columnar_logging(hub_server: LiveHub) -> None:
    run = start(hub_server)
    steps = np.arange(250_000)
    run.log_columns(steps, {"loss": np.exp(-steps / 1e5), "lr": np.full(len(steps), 3e-4)})
    run.finish()
    client = hub.Client(hub_server.url, hub_server.token)
    points = client.metrics([run.id], ["loss"])
    assert points.height == 250_000
    assert points["step"].to_list() == list(range(250_000))


def test_eight_threads_eight_runs_every_point_once(hub_server: LiveHub) -> None:
    per_run = 20_000
    runs = [start(hub_server, batch_points=3_000, flush_interval=0.02) for _ in range(8)]
    errors: list[BaseException] = []

    def train(run: hub.Run) -> None:
        try:
            for step in range(per_run // 2):
                run.log({"loss": float(step), "acc": float(-step)}, step=step)
            run.finish()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    client = hub.Client(hub_server.url, hub_server.token)
    points = client.metrics([run.id for run in runs])
    assert points.height == 8 * per_run
    counts = points.group_by("run_id", "key", "step").len()
    assert counts["len"].max() == 1, "a point arrived twice"
    loss = points.filter(pl.col("key") == "loss")
    assert (loss["value"] == loss["step"].cast(pl.Float64)).all()
    assert all(run.dropped_points == 0 for run in runs)


@pytest.fixture
def stoppable_hub(
    tmp_path: Path,
) -> Iterator[tuple[LiveHub, Callable[[], None], Callable[[], None]]]:
    """A hub with stop() and start() on the same port and store, to play an outage.
    It accepts bodies of 64 KiB at most, about 2,000 points."""
    settings = Settings(data_dir=tmp_path, port=free_port(), max_upload_bytes=64 * 1024)
    store = open_store(settings.database_path)
    token = create_admin_token_sync(store, "outage")
    servers = [serve_in_thread(settings, store)]

    def stop() -> None:
        server, thread = servers.pop()
        server.should_exit = True
        thread.join(timeout=30)

    def start_again() -> None:
        servers.append(serve_in_thread(settings, store))

    yield LiveHub(f"http://127.0.0.1:{settings.port}", token, settings, store), stop, start_again
    if servers:
        stop()
    store.close()


def test_a_hub_outage_does_not_stop_training_and_nothing_is_lost(
    stoppable_hub: tuple[LiveHub, Callable[[], None], Callable[[], None]],
) -> None:
    live, stop, start_again = stoppable_hub
    run = start(live, flush_interval=0.05)
    for step in range(100):
        run.log({"loss": float(step)})
    assert run.flush(timeout=30)

    stop()  # the hub goes away mid-training; logging goes on (it only fills the buffer)
    for step in range(100, 600):
        run.log({"loss": float(step)})
    assert not run.flush(timeout=1.0)
    assert run.dropped_points == 0

    start_again()  # the hub comes back on the same port
    run.finish(timeout=60)
    points = hub.Client(live.url, live.token).metrics([run.id], ["loss"])
    assert points["step"].sort().to_list() == list(range(600))


def test_a_backlog_is_sent_in_batches_the_hub_accepts(
    stoppable_hub: tuple[LiveHub, Callable[[], None], Callable[[], None]],
) -> None:
    live, stop, start_again = stoppable_hub
    run = start(live, batch_points=1_000, flush_interval=0.05)
    stop()
    run.log_columns(np.arange(20_000), {"loss": np.linspace(1, 0, 20_000)})  # ~600 KiB
    start_again()
    run.finish(timeout=60)
    assert run.dropped_points == 0
    points = hub.Client(live.url, live.token).metrics([run.id], ["loss"])
    assert points.height == 20_000


def test_finish_with_the_hub_gone_warns_instead_of_crashing(
    stoppable_hub: tuple[LiveHub, Callable[[], None], Callable[[], None]],
) -> None:
    live, stop, _ = stoppable_hub
    run = start(live, max_buffered=1_000)
    stop()
    with pytest.warns(HubWarning, match="points are being dropped"):
        for step in range(1_500):
            run.log({"loss": float(step)})
    assert run.dropped_points == 500
    with pytest.warns(HubWarning) as caught:
        run.finish(timeout=0.5)  # returns: the training script ends cleanly
    messages = " | ".join(str(warning.message) for warning in caught)
    assert "not acknowledged" in messages
    assert "could not mark run" in messages


def test_init_needs_a_token_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALON_TOKEN", raising=False)
    with pytest.raises(hub.HubError, match="SALON_TOKEN"):
        hub.Client(url="http://127.0.0.1:9")


def test_client_reads_url_and_token_from_the_environment(
    hub_server: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALON_URL", hub_server.url)
    monkeypatch.setenv("SALON_TOKEN", hub_server.token)
    assert hub.Client().query("{ version }")["version"] == hub.__version__
    monkeypatch.setenv("SALON_TOKEN", "wrong")
    with pytest.raises(hub.HubError) as caught:
        hub.Client().query("{ version }")
    assert caught.value.status == 401


def test_environment_records_git_state(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "train.py").write_text("print('hi')\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    clean = environment.capture(tmp_path)
    assert len(clean["gitCommit"]) == 40 and clean["gitDirty"] is False
    (tmp_path / "train.py").write_text("print('changed')\n")
    assert environment.capture(tmp_path)["gitDirty"] is True
    assert any(p.startswith("polars==") for p in clean["packages"])
    assert clean["pythonVersion"].count(".") == 2 and clean["host"]


def test_an_unknown_keyword_is_refused_before_a_run_is_made(hub_server: LiveHub) -> None:
    with pytest.raises(TypeError, match=r"'group'.*batch_points"):
        hub.init(
            project="vision",
            experiment="e",
            group="ablation",
            url=hub_server.url,
            token=hub_server.token,
            capture_environment=False,
        )  # type: ignore[call-arg]
    assert hub_server.graphql("{ projects { name } }")["data"]["projects"] == [], "no run made"


def test_runs_come_back_whole_and_a_limit_says_how_many_match(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    for number in range(120):
        hub_server.graphql(
            'mutation($n: String!) { createRun(input: {project: "vision", experiment: "e", '
            "name: $n}) { __typename } }",
            {"n": f"r{number}"},
        )
    running = client.runs("vision", filter="status = 'running'")  # no run has ended yet
    assert len(running) == 120 and running["ended_at"].null_count() == 120
    assert running.schema["ended_at"] == pl.Datetime("us", "UTC")
    with pytest.warns(hub.HubWarning, match="120 runs match; these are the first 50"):
        assert len(client.runs("vision", limit=50)) == 50


def test_retries_wait_a_jittered_time() -> None:
    """Scripts that lost the hub together do not all retry at the same instant."""
    waits = {jittered(8.0) for _ in range(50)}
    assert len(waits) > 40 and all(4.0 <= wait <= 8.0 for wait in waits)
