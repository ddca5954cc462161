"""The wheel, installed the ordinary way outside the checkout, carries what the hub needs: built
with ``uv build``, installed into a fresh virtual environment, ``salon serve`` starts on an empty
data folder, creates its tables and answers GraphQL.

The fresh environment reads the checkout's installed dependencies through a ``.pth`` line
rather than downloading a gigabyte again; the ``.pth`` files in that folder are not processed,
so the checkout's editable install of Salon is not seen: ``hub`` comes from the wheel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveHub, free_port
from tests.processes import stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"


def build_wheel(folder: Path) -> Path:
    """The checkout's wheel, built as a release is (``uv build``)."""
    built = subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = folder.glob("salon-*.whl")
    return wheel


@pytest.mark.slow
def test_the_installed_wheel_starts_a_hub_outside_the_checkout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "hub/store/schema/001_core.sql",
        "hub/api/share_views.graphql",
        "dashboard/queries/runs.graphql",
        "dashboard/serve.py",
        "hub/py.typed",
        "hub/http/graphiql/graphiql.min.js.gz",
        "salon-0.1.0.dist-info/licenses/LICENSE",
    ):
        assert needed in names, f"{needed} is missing from the wheel"
    assert not [n for n in names if n.startswith("tests/")], "tests stay out of the wheel"

    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "checkout-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--no-deps", "--python", str(python), str(wheel)],
        check=True,
    )
    where = subprocess.run(
        [str(python), "-c", "import hub; print(hub.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert where.startswith(site), f"hub came from {where}, not the installed wheel"

    port, token = free_port(), "salon_wheel-test-admin-token-0123456789"
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_ADMIN_TOKEN": token,
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(venv / "bin" / "salon"), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/healthz", process, log=log)
        answer = httpx.post(
            f"{url}/graphql",
            json={"query": "{ version projects { name } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert answer.get("data", {}).get("projects") == [], (answer, log.read_text()[-2000:])
        assert "Table" not in log.read_text(), log.read_text()[-2000:]
    finally:
        stop(process)


@pytest.mark.slow
def test_the_light_client_installs_alone_and_logs_a_run(
    tmp_path: Path, hub_server: LiveHub
) -> None:
    """`pip install salon`: the notebook client and the command line's client commands, none
    of the server; a server command says which extra brings it."""
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "light"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(python), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    listed = subprocess.run(
        [str(UV), "pip", "list", "--python", str(python), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {item["name"].lower() for item in json.loads(listed)}
    assert not names & {"duckdb", "streamlit", "ray", "strawberry-graphql", "kaleido"}, names
    script = (
        "import hub\n"
        "run = hub.init(project='light', experiment='e', capture_environment=False)\n"
        "run.log({'loss': 0.5}, step=1)\n"
        "run.finish()\n"
        "print(len(hub.Client().runs(project='light')))\n"
    )
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SALON_URL": hub_server.url,
        "SALON_TOKEN": hub_server.token,
    }
    logged = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert logged.returncode == 0 and logged.stdout.strip() == "1", logged.stderr[-2000:]
    listed_users = subprocess.run(
        [str(venv / "bin" / "salon"), "user", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert listed_users.returncode == 0, listed_users.stderr
    serve = subprocess.run(
        [str(venv / "bin" / "salon"), "serve"],
        capture_output=True,
        text=True,
        env={**env, "SALON_DATA_DIR": str(tmp_path / "d")},
        cwd=tmp_path,
        timeout=60,
    )
    lines = serve.stderr.strip().splitlines()
    assert serve.returncode == 1 and len(lines) == 1, serve.stderr[-2000:]
    assert "pip install 'salon[server]'" in lines[0]
