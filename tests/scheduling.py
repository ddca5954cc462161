"""How ``make test`` hands tests to its processes (pytest-xdist's ``--numprocesses``).

xdist's default hands out tests one by one in collection order, so a module's tests end up on
both processes, and each process sets up the module's fixtures, and the session's servers its
tests ask for, again. Here a module's tests go to one process together, and the modules that
share a costly server go there as one unit: the suite starts one Ray head and one reference
MLflow server in all instead of one per process. Units with more tests go first (xdist's order
for scopes): the two server units and the big modules start early, though a long module of a
single test (the 2 GB upload) may still come last.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# Modules that share a server started once per process (a session fixture), by the unit they
# run in. A module left out still passes: its server just starts once more, on the other side.
SHARED_SERVERS = {
    "tests/test_cluster.py": "ray_head",
    "tests/test_model_checks.py": "ray_head",
    "tests/mlflow/test_compat.py": "mlflow_server",
    "tests/mlflow/test_older_clients.py": "mlflow_server",
    "tests/mlflow/test_parity.py": "mlflow_server",
    "tests/mlflow/test_registry_parity.py": "mlflow_server",
    "tests/mlflow/test_tracking_parity.py": "mlflow_server",
}


def unit_of(nodeid: str) -> str:
    """The unit a test runs in: its module's path, or the server its module shares."""
    module = nodeid.split("::", 1)[0]
    return SHARED_SERVERS.get(module, module)


class ByModuleAndServer(LoadScopeScheduling):
    """xdist's scheduling by scope, a scope being a unit (``unit_of``)."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
