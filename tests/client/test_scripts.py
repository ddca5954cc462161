"""Training scripts in their own process: a run left open ends with the script's outcome."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import hub
from tests.conftest import LiveHub

SCRIPT = """
import hub
run = hub.init(project="scripts", experiment="exit", name={name!r}, capture_environment=False)
for step in range(300):
    run.log({{"loss": 1.0 / (step + 1)}})
{ending}
"""


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("", "finished"),
        ("raise RuntimeError('out of memory')", "failed"),
        ("raise KeyboardInterrupt", "killed"),
    ],
)
def test_a_script_that_never_calls_finish(hub_server: LiveHub, ending: str, status: str) -> None:
    name = f"script-{status}"
    code = textwrap.dedent(SCRIPT.format(name=name, ending=ending))
    env = {**os.environ, "SALON_URL": hub_server.url, "SALON_TOKEN": hub_server.token}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    # The script exits as it would without Salon (Ctrl+C: by SIGINT, as Python does).
    alone = subprocess.run([sys.executable, "-c", ending], capture_output=True, timeout=60)
    assert done.returncode == alone.returncode, done.stderr
    client = hub.Client(hub_server.url, hub_server.token)
    runs = client.runs("scripts", filter=f"name = '{name}'")
    assert runs["status"].to_list() == [status]
    assert client.metrics(runs["id"].to_list(), ["loss"]).height == 300
