"""What the MLflow tests share: one real ``mlflow server`` for the whole run, and for the
side-by-side tests a hub per module beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.servers import Server, start_mlflow
from tests.conftest import LiveHub, start_hub
from tests.mlflow.sides import Side


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real MLflow tracking server (SQLite, proxied artifacts) beside the hub."""
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-server"))
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def salon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    yield from start_hub(tmp_path_factory.mktemp("parity-hub"), demo=False)


@pytest.fixture
def sides(mlflow_server: Server, salon: LiveHub) -> tuple[Side, Side]:
    return Side("MLflow", mlflow_server.url, None), Side("Salon", salon.url, salon.token)
