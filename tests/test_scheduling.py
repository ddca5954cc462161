"""The suite's own scheduling (``tests.scheduling``) knows every module that shares a server."""

from __future__ import annotations

import pytest

from tests.scheduling import SHARED_SERVERS, unit_of


def test_modules_that_share_a_server_are_grouped_by_it(request: pytest.FixtureRequest) -> None:
    """Each collected module whose tests ask for a shared server runs in that server's unit,
    and each module listed asks for its server: a new Ray or MLflow module cannot be left out
    of the map (its server would start once more) nor a stale entry stay in it."""
    servers = set(SHARED_SERVERS.values())
    using: dict[str, set[str]] = {}
    for item in request.session.items:
        module = item.nodeid.split("::", 1)[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        using.setdefault(module, set()).update(fixtures & servers)
    for module, used in using.items():
        assert len(used) <= 1, f"{module} asks for two shared servers: {sorted(used)}"
        assert SHARED_SERVERS.get(module) == next(iter(used), None), (
            f"{module}: tests.scheduling.SHARED_SERVERS should say {next(iter(used), None)}"
        )


def test_a_module_is_one_unit_and_a_server_s_modules_are_one_unit_together() -> None:
    assert unit_of("tests/test_cli.py::test_up[a::b]") == "tests/test_cli.py"
    assert unit_of("tests/api/test_trash.py::TestX::test_y") == "tests/api/test_trash.py"
    assert unit_of("tests/test_cluster.py::test_jobs") == "ray_head"
    assert unit_of("tests/test_model_checks.py::test_a_job_check") == "ray_head"
    assert unit_of("tests/mlflow/test_parity.py::test_x[y]") == "mlflow_server"
