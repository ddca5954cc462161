"""Shared fixtures: real DuckDB files in temp folders and a real hub served by uvicorn."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bench.postgres import PostgresCluster, new_database, run_sql
from hub.app import create_app
from hub.cli import local_ray
from hub.cli.local_ray import LocalRay
from hub.demo.datasets import load_datasets
from hub.demo.discussions import load_discussions
from hub.demo.models import load_models
from hub.services.identity.tokens import create_admin_token_sync
from hub.services.policy.principal import SYSTEM
from hub.settings import Settings
from hub.store import Store, open_store, points_location, store_for
from hub.store.backends import Shared
from tests.demo_store import with_empty_store, with_store
from tests.inprocess import InProcessHub, in_process_hub
from tests.scheduling import ByModuleAndServer, unit_of

pytest_plugins = ["tests.terminate"]  # SIGTERM stops a run as Ctrl+C does

# Each test says the settings it needs: SALON_* variables of the shell running the suite (a
# developer's SALON_TOKEN or SALON_DATA_DIR) would reach Settings() and the servers it starts.
for _name in [name for name in os.environ if name.startswith("SALON_")]:
    del os.environ[_name]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class LiveHub:
    """A hub running in this process on a real port, over a real DuckDB file."""

    url: str
    token: str
    settings: Settings
    store: Store

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, expect_errors: bool = False
    ) -> dict[str, Any]:
        return graphql_call(self.url, self.token, query, variables, expect_errors=expect_errors)


def graphql_call(
    url: str,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    expect_errors: bool = False,
) -> dict[str, Any]:
    """POST a GraphQL operation; fails the test on any ``errors`` unless it expects them."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    )
    body: dict[str, Any] = response.json()
    if expect_errors:
        assert body.get("errors"), f"expected errors, got {body}"
    else:
        assert response.status_code == 200, body
        assert not body.get("errors"), body["errors"]
    return body


def listening_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, kept until a server takes it over: a port
    that is only picked (``free_port``) can be taken by another process before it is bound,
    which happens when tests run side by side."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def serve_in_thread(
    settings: Settings, store: Store, sock: socket.socket | None = None
) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve the hub from a thread of this process: on ``sock`` when given (already bound to
    ``settings.port``), else on ``settings.port``."""
    config = uvicorn.Config(
        create_app(settings, store),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # as `salon serve` runs it: SALON_TRUSTED_PROXIES decides
    )
    server = uvicorn.Server(config)
    sockets = {"sockets": [sock]} if sock is not None else {}
    thread = threading.Thread(target=server.run, kwargs=sockets, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the hub failed to start"
        assert time.monotonic() < deadline, "the hub did not start in 30 s"
        time.sleep(0.05)
    return server, thread


def start_hub(data_dir: Path, *, demo: bool, **extra: Any) -> Iterator[LiveHub]:
    sock = listening_socket()
    port = int(sock.getsockname()[1])
    extra.setdefault("url", f"http://127.0.0.1:{port}")  # hubs behind one address share it
    with_store(data_dir, demo=demo, database_url=extra.get("database_url", ""))
    settings = Settings(data_dir=data_dir, port=port, **extra)
    store = store_for(settings)
    if demo:
        asyncio.run(load_datasets(store, settings, SYSTEM))
        asyncio.run(load_discussions(store))
        asyncio.run(load_models(store, settings))
    token = create_admin_token_sync(store, "tests")
    server, thread = serve_in_thread(settings, store, sock)
    try:
        yield LiveHub(f"http://127.0.0.1:{port}", token, settings, store)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()
        sock.close()


REPOSITORY = Path(__file__).resolve().parents[1]
# What MLflow writes to the working directory when no tracking URI is set.
MLFLOW_LEFTOVERS = ("mlflow.db", "mlruns", "mlartifacts")


@pytest.fixture(autouse=True)
def _writes_only_under_temporary_folders() -> Iterator[None]:
    """Fails the test that leaves MLflow's default store in the checkout (tests and the code
    they run write only under temporary folders)."""
    before = {name for name in MLFLOW_LEFTOVERS if (REPOSITORY / name).exists()}
    yield
    left = {name for name in MLFLOW_LEFTOVERS if (REPOSITORY / name).exists()} - before
    assert not left, f"the test left {sorted(left)} in {REPOSITORY}"


@pytest.fixture(scope="session")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A hub with the demo team's data, shared by every test that only reads."""
    yield from start_hub(tmp_path_factory.mktemp("demo-hub"), demo=True)


@pytest.fixture
def hub_server(tmp_path: Path) -> Iterator[LiveHub]:
    """A fresh, empty hub for tests that write."""
    yield from start_hub(tmp_path, demo=False)


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: pytest -p no:xdist runs too
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Tests sent to the processes by module, and those sharing a server together (see
    ``tests.scheduling``); an explicit ``--dist`` other than ``load`` is left alone."""
    if config.getoption("dist") != "load":
        return None
    return ByModuleAndServer(config, log)


# Tests in these folders run on both backends; elsewhere a store is a DuckDB file.
BOTH_BACKENDS = ("store", "services")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    folder = Path(metafunc.definition.fspath).parent.name
    if "backend" in metafunc.fixturenames and folder in BOTH_BACKENDS:
        metafunc.parametrize("backend", ["duckdb", "postgresql"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Which backend ``store`` opens: duckdb, or postgresql where the folder asks for both."""
    return str(getattr(request, "param", "duckdb"))


@pytest.fixture
def store(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Store]:
    """An empty store on a real DuckDB file, or on a real PostgreSQL database of the suite's
    own cluster (as hubs that share one use it) where ``backend`` says so."""
    if backend == "postgresql":
        url = migrated_copy(request.getfixturevalue("migrated_database"), tmp_path)
        opened = open_store(Shared(url), data_dir=tmp_path)
    else:
        with_empty_store(tmp_path)
        opened = open_store(tmp_path / "salon.duckdb")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    """An in-process hub (no socket) with the demo data, per test module."""
    yield from in_process_hub(tmp_path_factory.mktemp("api-demo"), demo=True)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[InProcessHub]:
    """An empty in-process hub with a 64 KiB upload limit."""
    yield from in_process_hub(tmp_path, demo=False, max_upload_bytes=64 * 1024)


@dataclasses.dataclass
class S3Server:
    """A real S3-compatible server (moto's server mode) on 127.0.0.1, and a client of it."""

    endpoint: str
    client: Any
    settings: dict[str, str]  # what a hub needs to read it


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[S3Server]:
    import sys

    import boto3

    from tests.processes import stop, wait_until_up

    port = free_port()
    log = tmp_path / "moto.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(endpoint, process, log=log)
        keys = {"aws_access_key_id": "salon-test", "aws_secret_access_key": "salon-secret"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
        yield S3Server(
            endpoint,
            client,
            {
                "s3_endpoint": endpoint,
                "s3_access_key_id": keys["aws_access_key_id"],
                "s3_secret_access_key": keys["aws_secret_access_key"],
            },
        )
    finally:
        stop(process)


def start_ray(
    temp_dir: Path | None = None, dashboard_port: int | None = None, token: str | None = None
) -> LocalRay:
    """A real local Ray cluster: a head on 127.0.0.1 with 4 logical GPUs."""
    return local_ray.start(4, temp_dir, dashboard_port, token=token)


def start_hub_on(data_dir: Path, head: LocalRay, **extra: Any) -> Iterator[LiveHub]:
    """A fresh hub watching the Ray cluster ``head`` (with its token), sampling it often."""
    extra = {"ray_sample_seconds": 0.5, **extra}
    yield from start_hub(
        data_dir, demo=False, ray_address=head.dashboard, ray_token=head.token, **extra
    )


def stop_ray(head: LocalRay) -> None:
    head.stop()


class SharedRay:
    """The Ray cluster the Ray tests share (``ray_head``). Started by the first of them (it takes
    a while), kept while the process runs the modules that share it (``tests.scheduling`` hands
    them to one process together), and stopped when it moves on: an idle head still costs a
    twentieth of a core, for the rest of the run."""

    def __init__(self) -> None:
        self.head: LocalRay | None = None

    def get(self) -> LocalRay:
        if self.head is None:
            self.head = start_ray()
        return self.head

    def stop(self) -> None:
        head, self.head = self.head, None
        if head is not None:
            local_ray.remove(head)


SHARED_RAY = SharedRay()


@pytest.fixture
def ray_head() -> LocalRay:
    """A Ray cluster for the Ray tests, shared by them (see ``SharedRay``)."""
    return SHARED_RAY.get()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test's fixtures are torn down: the shared Ray cluster stops once the next test
    is not in a module that shares it."""
    try:
        yield
    finally:
        if nextitem is None or unit_of(nextitem.nodeid) != "ray_head":
            SHARED_RAY.stop()


def pytest_sessionfinish() -> None:
    SHARED_RAY.stop()  # a run cut short


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's PostgreSQL cluster (see ``PostgresCluster``), stopped at the end; yields
    ``host:port``."""
    cluster = PostgresCluster(tmp_path_factory.mktemp("postgres"))
    try:
        yield cluster.address
    finally:
        cluster.stop()


def shared_database(cluster: str) -> str:
    """A new, empty database in the suite's PostgreSQL cluster; its URL."""
    return new_database(cluster)


@pytest.fixture(scope="session")
def migrated_database(
    postgres_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """A database of the suite's cluster brought to this Salon's schema once, closed: the
    ``store`` fixture's PostgreSQL stores are copies of it, since migrating a new database
    takes a second or more and a copy a tenth of that. Returns (cluster, database name)."""
    url = shared_database(postgres_cluster)
    open_store(Shared(url), data_dir=tmp_path_factory.mktemp("migrated")).close()
    return postgres_cluster, url.rsplit("/", 1)[1]


def migrated_copy(migrated: tuple[str, str], data_dir: Path) -> str:
    """A new database copied from ``migrated``, its metric points under ``data_dir``; its URL.
    DuckLake's catalog holds the folder of its Parquet files (the files' own paths are
    relative to it, and the copy has none yet), so the copy is pointed at its own."""
    cluster, template = migrated
    url = new_database(cluster, template)
    folder = points_location("", data_dir).rstrip("/") + "/"
    run_sql(
        cluster,
        f"UPDATE ducklake.ducklake_metadata SET value = '{folder}' WHERE key = 'data_path'",
        url.rsplit("/", 1)[1],
    )
    return url
