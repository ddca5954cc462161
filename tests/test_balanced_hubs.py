"""Three real hubs (``salon serve`` processes) on one PostgreSQL database and one object store,
behind Caddy run with ``docs/Caddyfile`` as it ships. One hub is killed with SIGKILL while
clients log points and post comments through the balancer: their retries land on the other
hubs, every acknowledged point and comment is stored once, and the audit trail verifies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hub
from hub.client.errors import HubError
from hub.client.transport import Connection, HubUnreachable
from tests.api.test_discussions import ADD
from tests.conftest import REPOSITORY, free_port, shared_database
from tests.processes import wait_until_up
from tests.test_cli import SALON, salon_env

TOKEN = "balanced-hubs-token-0123456789abcdef"
HUBS = 3
WRITERS = 3
STEPS = 400
METRICS = ("loss", "accuracy", "lr")
COMMENTERS = 2
COMMENTS = 25
CADDYFILE = REPOSITORY / "docs" / "Caddyfile"
THREADS = """query($id: ID!) { discussion(kind: RUN, id: $id, first: 500) {
  ... on Discussion { threads { comments { body } } } } }"""


def caddy_binary() -> Path:
    """Debian's Caddy as `make test` unpacks it (or one on the PATH)."""
    unpacked = REPOSITORY / ".tools" / "caddy" / "usr" / "bin" / "caddy"
    found = unpacked if unpacked.is_file() else None
    if found is None:
        on_path = shutil.which("caddy")
        found = Path(on_path) if on_path else None
    assert found is not None, "Caddy is missing: `make test` unpacks it into .tools/caddy"
    return found


class Cluster:
    """The hubs and the balancer, each a process of its own, stopped by process id."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp = tmp_path
        self.address = f"http://127.0.0.1:{free_port()}"
        self.shared = {
            "SALON_DATABASE_URL": database_url,
            "SALON_OBJECT_STORE": str(tmp_path / "objects"),
            "SALON_URL": self.address,
            "SALON_ADMIN_TOKEN": TOKEN,
            "SALON_HOST": "127.0.0.1",
        }
        self.hubs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.caddy: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        for number in range(HUBS):
            port = free_port()
            env = salon_env(self.tmp / f"hub-{number}", SALON_PORT=str(port), **self.shared)
            with (self.tmp / f"hub-{number}.log").open("wb") as log:
                self.hubs.append(
                    subprocess.Popen(
                        [*SALON, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
            self.ports.append(port)
        for number, (process, port) in enumerate(zip(self.hubs, self.ports, strict=True)):
            log = self.tmp / f"hub-{number}.log"
            wait_until_up(f"http://127.0.0.1:{port}/readyz", process, log=log)
        env = {
            **os.environ,
            "SALON_ADDRESS": self.address,
            "SALON_HUBS": " ".join(f"127.0.0.1:{port}" for port in self.ports),
            "SALON_DASHBOARD_ADDRESS": f"http://127.0.0.1:{free_port()}",
            "SALON_DASHBOARDS": f"127.0.0.1:{free_port()}",  # none runs here: pages not tested
            "XDG_DATA_HOME": str(self.tmp / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.tmp / "caddy-config"),
        }
        with (self.tmp / "caddy.log").open("wb") as log:
            self.caddy = subprocess.Popen(
                [str(caddy_binary()), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(f"{self.address}/readyz", self.caddy, log=self.tmp / "caddy.log")

    def stop(self) -> None:
        for process in [*self.hubs, *([self.caddy] if self.caddy else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.hubs, *([self.caddy] if self.caddy else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def passing(error: HubError) -> bool:
    """Whether asking again may succeed: no answer came, or the balancer said the hub it
    chose is away (502, 503, 504)."""
    return isinstance(error, HubUnreachable) or error.status in (502, 503, 504)


@pytest.fixture
def cluster(postgres_cluster: str, tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path, shared_database(postgres_cluster))
    try:
        started.start()
        yield started
    finally:
        started.stop()


def comment_until_acknowledged(connection: Connection, run_id: str, body: str) -> None:
    """Post a comment as a careful client does behind a balancer: when the answer is lost (the
    hub died, the proxy said 502), look whether it was stored before sending it again."""
    while True:
        try:
            answer = connection.graphql(ADD, {"k": "RUN", "id": run_id, "body": body})
            assert answer["addComment"]["__typename"] == "Comment", answer
            return
        except HubError as exc:
            if not passing(exc):
                raise
        time.sleep(0.2)
        try:
            if body in bodies_of(connection, run_id):
                return
        except HubError as exc:
            if not passing(exc):
                raise


def bodies_of(connection: Connection, run_id: str) -> list[str]:
    found = connection.graphql(THREADS, {"id": run_id})["discussion"]["threads"]
    return [comment["body"] for thread in found for comment in thread["comments"]]


@pytest.mark.slow
def test_a_hub_killed_behind_the_balancer_loses_nothing(cluster: Cluster) -> None:
    client = hub.Client(cluster.address, TOKEN)
    discussed = hub.init(
        project="fleet",
        experiment="review",
        url=cluster.address,
        token=TOKEN,
        capture_environment=False,
    )
    discussed.finish()
    runs = [
        hub.init(
            project="fleet",
            experiment="training",
            name=f"writer-{number}",
            url=cluster.address,
            token=TOKEN,
            capture_environment=False,
            flush_interval=0.05,
        )
        for number in range(WRITERS)
    ]
    errors: list[BaseException] = []

    def train(run: hub.Run) -> None:
        try:
            for step in range(STEPS):
                run.log({name: 1.0 / (step + 1) for name in METRICS}, step=step)
                time.sleep(0.005)
            run.finish()
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    def talk(number: int) -> None:
        connection = Connection(cluster.address, TOKEN, timeout=30)
        try:
            for index in range(COMMENTS):
                comment_until_acknowledged(connection, discussed.id, f"c{number}-{index}")
                time.sleep(0.03)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=train, args=(run,)) for run in runs]
    workers += [threading.Thread(target=talk, args=(number,)) for number in range(COMMENTERS)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # every client well under way
    assert all(worker.is_alive() for worker in workers), "the kill must come mid-writes"
    victim = cluster.hubs[1]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    for worker in workers:
        worker.join(timeout=300)
    assert not errors, errors
    assert not any(worker.is_alive() for worker in workers), "a client never finished"

    for run in runs:
        assert run.dropped_points == 0, f"{run.name} dropped points"
        found = client.run(run.id)
        assert found["status"] == "FINISHED", found
        history = client.metrics(run.id, list(METRICS))
        assert len(history) == STEPS * len(METRICS), f"{run.name}: {len(history)} points"
        assert history.select("step").n_unique() == STEPS
    connection = Connection(cluster.address, TOKEN)
    bodies = bodies_of(connection, discussed.id)
    expected = [f"c{n}-{i}" for n in range(COMMENTERS) for i in range(COMMENTS)]
    assert sorted(bodies) == sorted(expected), "each acknowledged comment is stored once"
    connection.close()

    assert [process.poll() is None for process in cluster.hubs] == [True, False, True]
    verified = subprocess.run(
        [*SALON, "audit", "verify", "--json"],
        env=salon_env(cluster.tmp / "verifier", **cluster.shared),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] and report["checkpoint"], report
    assert httpx.get(f"{cluster.address}/readyz", timeout=10).status_code == 200
