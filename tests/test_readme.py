"""The README's notebook snippets run as written, in order, against a hub with the demo data:
"Track experiments" logs a run, and "Query from a notebook" finds it.

The README's other Python blocks need more than a hub (an S3 bucket, a WebSocket client, a run
in hand) and are exercised by the tests of their parts; they are listed here by section, so a
new block is never silently left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import start_hub

README = Path(__file__).resolve().parents[1] / "README.md"
RUN = ("## Track experiments from a script or notebook", "## Query from a notebook")
COVERED_ELSEWHERE = {
    "## Datasets": "tests/api/test_datasets.py",
    "## Discussions, activity and webhooks": "tests/api/test_subscriptions.py",
    "## Models: the registry and its promotion gate": "tests/api/test_models.py",
}


def python_blocks() -> dict[str, list[str]]:
    """Each section's ```python blocks, by the section's heading."""
    found: dict[str, list[str]] = {}
    section = ""
    for part in re.split(r"(?m)^(## .+)$", README.read_text()):
        if part.startswith("## "):
            section = part.strip()
            continue
        blocks = re.findall(r"```python\n(.*?)```", part, flags=re.DOTALL)
        if blocks:
            found[section] = blocks
    return found


def test_every_python_block_is_run_here_or_by_its_part() -> None:
    assert set(python_blocks()) == set(RUN) | set(COVERED_ELSEWHERE)


def test_the_notebook_snippets_run_as_written(tmp_path: Path) -> None:
    blocks = python_blocks()
    script = "\n".join(block for section in RUN for block in blocks[section])
    script += (
        "\nassert runs.height >= 1 and 'lr-sweep-3' in runs['name'].to_list(), runs"
        "\nassert points.height == 1000 and curve.height > 0"
    )
    for live in start_hub(tmp_path, demo=True):
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "SALON_URL": live.url, "SALON_TOKEN": live.token},
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Salon:" not in done.stderr, "no warning either"
        found = live.graphql(
            '{ runs(project: "vision-defects", filter: "name = \'lr-sweep-3\'", first: 5) '
            "{ ... on RunConnection { nodes { status } } } }"
        )["data"]["runs"]["nodes"]
        assert found == [{"status": "FINISHED"}], "the snippet leaves no failed run behind"
