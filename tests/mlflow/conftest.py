"""What the MLflow tests share: one real ``mlflow server`` for the whole run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.servers import Server, start_mlflow


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real MLflow tracking server (SQLite, proxied artifacts) beside the hub."""
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-server"))
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()
