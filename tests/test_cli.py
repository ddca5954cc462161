"""The `salon` command line, run as a user runs it: in its own process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, graphql_call
from tests.processes import python_prints, stop, wait_until_up

SALON = [sys.executable, "-m", "hub.cli"]


def salon_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SALON_DATA_DIR": str(data_dir), "SALON_LOG_LEVEL": "warning", **extra}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)  # salon up stops its Ray cluster too
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_version() -> None:
    for asked in (["version"], ["--version"]):
        done = subprocess.run([*SALON, *asked], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "salon 0.1.0"


def test_shell_completion_is_offered() -> None:
    salon = Path(sys.executable).parent / "salon"  # the installed command, as people run it
    # Typer finds the shell among the command's parents, as when a person types it in bash; the
    # suite itself may run under no shell (a CI runner, a background job), so bash runs it here
    # (two commands: bash stays the parent instead of handing its process over).
    done = subprocess.run(
        ["bash", "-c", f"'{salon}' --show-completion; exit $?"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F _salon_completion salon" in done.stdout


def test_settings_prints_effective_values_without_secrets(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SALON_PORT=8123\nSALON_RAY_GPUS=2\n")
    env = {**os.environ, "SALON_RAY_GPUS": "3", "SALON_ADMIN_TOKEN": "salon_do-not-print-me"}
    done = subprocess.run(
        [*SALON, "settings"], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    shown = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert shown["SALON_PORT"] == "8123" and shown["SALON_RAY_GPUS"] == "3", "env over .env"
    assert shown["SALON_ADMIN_TOKEN"] == "(set, not shown)" and shown["SALON_RAY_TOKEN"] == ""
    assert "do-not-print-me" not in done.stdout
    as_json = subprocess.run(
        [*SALON, "settings", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert json.loads(as_json.stdout) == shown, "the same values, as one JSON object"


def test_a_hub_that_is_down_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Client commands with the hub down: one line saying so, status 1 (it printed about 200
    lines of traceback)."""
    env = {**os.environ, "SALON_URL": f"http://127.0.0.1:{free_port()}", "SALON_TOKEN": "x"}
    for command in (
        ["user", "list"],
        ["share", "list", "vision"],
        ["dataset", "list", "vision"],
        ["token", "list"],
    ):
        done = subprocess.run(
            [*SALON, *command], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
        )
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Cannot reach the hub at"), done.stderr


def test_serve_uses_the_automation_contract(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    token = "ci-token-0123456789abcdef"
    env = salon_env(tmp_path, SALON_ADMIN_TOKEN=token, SALON_PORT=str(port))
    serve = subprocess.Popen(
        [*SALON, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    processes.append(serve)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz", serve)
    assert (tmp_path / "salon.duckdb").is_file()
    assert graphql_call(url, token, "{ projects { name } }")["data"] == {"projects": []}
    assert httpx.post(f"{url}/graphql", json={"query": "{ version }"}).status_code == 401

    # While the hub owns the file, `salon demo` says so instead of failing obscurely.
    demo = subprocess.run([*SALON, "demo"], env=env, capture_output=True, text=True)
    assert demo.returncode == 1
    assert "Is a hub already running" in demo.stderr


def test_json_logs_carry_each_request_s_id(tmp_path: Path) -> None:
    """SALON_LOG_FORMAT=json: every line is one JSON object, uvicorn's included; a request's
    line carries its id (the caller's X-Request-ID, sent back with the answer) and, for
    GraphQL, the operation's name."""
    port = free_port()
    env = salon_env(
        tmp_path,
        SALON_PORT=str(port),
        SALON_LOG_FORMAT="json",
        SALON_LOG_LEVEL="info",
        SALON_ADMIN_TOKEN="salon-logs-test-token",
    )
    log = tmp_path / "hub.log"
    with log.open("w") as out:
        serve = subprocess.Popen([*SALON, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/healthz", serve)
        answer = httpx.get(f"{url}/readyz", headers={"X-Request-ID": "from-the-proxy-42"})
        assert answer.headers["x-request-id"] == "from-the-proxy-42"
        made = httpx.get(f"{url}/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert len(made.headers["x-request-id"]) == 32, "a new id for one that is not plain"
        asked = httpx.post(
            f"{url}/graphql",
            json={"query": "query WhoAmI { me { user { name } } }", "operationName": "WhoAmI"},
            headers={
                "X-Request-ID": "named-query",
                "Authorization": "Bearer salon-logs-test-token",
            },
        )
        assert asked.status_code == 200, asked.text
    finally:
        stop(serve)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    assert any(line["logger"].startswith("uvicorn") for line in lines), "uvicorn's lines too"
    access = [line for line in lines if line["logger"] == "salon.access"]
    (ready,) = [line for line in access if line["message"].startswith("GET /readyz 200")]
    assert ready["request_id"] == "from-the-proxy-42"
    (named,) = [line for line in access if line["request_id"] == "named-query"]
    assert named["message"].startswith("POST /graphql WhoAmI 200"), named


def test_port_option_and_bad_settings(tmp_path: Path) -> None:
    bad = subprocess.run(
        [*SALON, "serve"],
        env=salon_env(tmp_path, SALON_PORT="http"),
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "SALON_PORT='http' is not a valid int" in bad.stderr


@pytest.mark.slow
@pytest.mark.ray
def test_up_starts_hub_and_dashboard_with_demo_data_and_stops_on_sigterm(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """salon up prints how to sign in, serves the demo, and puts its jobs on a Ray head of its
    own; SIGTERM (as systemd, Docker and kill send it) stops it all, as Ctrl+C does."""
    import psutil

    port, dashboard_port = free_port(), free_port()
    env = salon_env(tmp_path, SALON_PORT=str(port), SALON_DASHBOARD_PORT=str(dashboard_port))
    up = subprocess.Popen(
        [*SALON, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    processes.append(up)
    assert up.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240  # Ray's head takes a while to start
    while not any("Stop with Ctrl+C" in line for line in lines):
        assert time.monotonic() < deadline, "".join(lines)
        line = up.stdout.readline()
        assert line or up.poll() is None, "".join(lines)
        lines.append(line)
    output = "".join(lines)
    assert f"http://127.0.0.1:{port}/graphql" in output
    assert f"Dashboard:  http://127.0.0.1:{dashboard_port}" in output
    password = (tmp_path / "demo-password").read_text().strip()
    assert "Sign in as ana.silva" in output and f"demo password {password}" in output
    # Who each demo person is, their roles and what to try as them.
    assert "farah.haddad (quality engineer (expert); commenter on vision-defects): review" in output
    assert "hana.kim (compliance officer; audit reader)" in output
    secrets = (tmp_path / "dashboard" / "secrets.toml").read_text()
    assert f'redirect_uri = "http://127.0.0.1:{dashboard_port}/oauth2callback"' in secrets
    assert (tmp_path / "dashboard" / "secrets.toml").stat().st_mode & 0o777 == 0o600
    token = next(line.split()[-1] for line in lines if "Admin token" in line)
    projects = graphql_call(f"http://127.0.0.1:{port}", token, "{ projects { name } }")
    assert len(projects["data"]["projects"]) == 3
    wait_until_up(f"http://127.0.0.1:{dashboard_port}/_stcore/health", up)
    # A local Ray cluster with the demo's jobs on it, sampled by the hub.
    assert "Ray:        http://127.0.0.1:" in output and "4 logical GPUs" in output
    deadline = time.monotonic() + 120
    while True:
        query = "{ cluster { gpus gpusUsed } clusterJobs { user status } }"
        seen = graphql_call(f"http://127.0.0.1:{port}", token, query)["data"]
        if seen["cluster"]["gpusUsed"] >= 3 and len(seen["clusterJobs"]) == 2:
            break
        assert time.monotonic() < deadline, seen
        time.sleep(1)
    assert seen["cluster"]["gpus"] == 4
    assert sorted(j["user"] for j in seen["clusterJobs"]) == ["ana.silva", "ben.okafor"]
    assert "was not submitted" not in output and "were not submitted" not in output

    # SIGTERM stops the dashboard, the hub and the Ray head, and removes the head's folder.
    reader = threading.Thread(target=lambda: lines.extend(up.stdout or []), daemon=True)
    reader.start()
    folder = _ray_folder(lines, up)
    ray = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(folder) in " ".join(p.info["cmdline"] or [])
    ]
    assert ray, "the local Ray head runs"
    up.send_signal(signal.SIGTERM)
    up.wait(timeout=90)
    reader.join(timeout=30)
    assert "Stopping the local Ray cluster" in "".join(lines), "".join(lines)
    _, alive = psutil.wait_procs(ray, timeout=30)
    assert not alive, [p.info["cmdline"] for p in alive]
    assert not folder.exists()
    for stopped in (f"http://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{dashboard_port}"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(stopped, timeout=5)


def test_salon_up_completes_an_older_demo_store(tmp_path: Path) -> None:
    """A data directory from before sign-in and datasets gets the demo people and datasets,
    once, without another copy of the runs."""
    import asyncio

    from hub.cli.server import seed_demo
    from hub.demo import load_demo
    from hub.services.policy.principal import SYSTEM
    from hub.settings import Settings
    from hub.store import open_store

    settings = Settings(data_dir=tmp_path)
    store = open_store(settings.database_path)
    try:
        made = asyncio.run(load_demo(store, SYSTEM))
        assert store.users.by_name_sync("ana.silva") is None
        for _ in range(2):
            assert seed_demo(store, settings, runs=False)[0] == 0
        assert store.users.by_name_sync("ana.silva") is not None
        names = {
            d.name
            for d in asyncio.run(
                store.datasets.of_projects([p.id for p in asyncio.run(store.projects.all())])
            )
        }
        assert {"line-inspections", "subscribers", "tickets"} <= names
        runs = asyncio.run(
            store.projects.run_counts([p.id for p in asyncio.run(store.projects.all())])
        )
        assert sum(runs.values()) == made
    finally:
        store.close()


def _ray_folder(lines: list[str], up: subprocess.Popen[str], seconds: float = 90) -> Path:
    """The folder of the Ray head this ``salon up`` started, from the line it prints about it
    (other tests, run side by side, start heads of their own in /tmp)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in list(lines):
            if found := re.search(r"its logs in (\S+);", line):
                return Path(found.group(1))
        if up.poll() is not None:
            break
        time.sleep(0.2)
    up.terminate()
    up.wait(timeout=90)
    pytest.fail("salon up said of no Ray head it started:\n" + "".join(lines))


def test_the_served_hub_collects_cycles_less_often() -> None:
    """What ``salon serve`` does to Python's garbage collector before serving: startup objects
    frozen out of collections, the youngest generation collected after 50,000 new objects.
    In a process of its own, since it changes the collector of the process it runs in."""
    script = (
        "import gc, json; from hub.cli.server import collect_less; "
        "before = gc.get_threshold(); collect_less(); "
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))"
    )
    before, after, frozen = json.loads(python_prints(script))
    assert before == [700, 10, 10]
    assert after == [50_000, 20, 100]
    assert frozen > 10_000  # the modules' objects, at least
