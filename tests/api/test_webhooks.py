"""Webhooks against a real local HTTP receiver that answers, fails, hangs, redirects and
recovers: signed deliveries (Standard Webhooks), retries with the same webhook-id, giving up,
disabling, the SSRF address matrix, and an outbox that survives kill -9 of the hub."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

import hub
from hub.services.policy import egress
from tests.api.test_datasets import inspections, restrict
from tests.conftest import LiveHub, free_port, graphql_call, start_hub
from tests.processes import eventually, stop
from tests.test_cli import SALON, salon_env

CREATE = """mutation($p: String!, $url: String!, $events: [String!], $format: WebhookFormat!) {
  createWebhook(project: $p, url: $url, events: $events, format: $format) {
    __typename ... on WebhookCreated { secret webhook { id } } ... on Error { message } } }"""
HOOKS = """query($p: String!) { webhooks(project: $p) { id failures disabledAt disabledReason
  deliveries(limit: 50) { id attempts deliveredAt gaveUpAt lastStatus lastError } } }"""
RUN = """mutation($n: String!) {
  createRun(input: {project: "vision", experiment: "e", name: $n}) { __typename } }"""
FAST = {
    "webhook_allow_networks": "127.0.0.1/32",
    "webhook_retry_seconds": "0.3,0.3,0.3",
    "webhook_timeout_seconds": 1.0,
}


@dataclasses.dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 standing in for Slack, a CI system or a custom service."""

    mode: str = "ok"  # ok | fail | hang | redirect
    redirect_to: str = ""
    received: list[tuple[dict[str, str], bytes]] = dataclasses.field(default_factory=list)
    attempts: int = 0
    url: str = ""

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


def serve_receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                state.attempts += 1
                mode = state.mode
            if mode == "hang":
                time.sleep(5)  # longer than the hub waits
                return
            if mode == "fail":
                self.send_response(500)
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
            else:
                with lock:
                    state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def add_hook(
    live: LiveHub,
    url: str,
    events: list[str] | None = None,
    fmt: str = "STANDARD",
    project: str = "vision",
) -> dict[str, Any]:
    made = live.graphql(CREATE, {"p": project, "url": url, "events": events, "format": fmt})
    return made["data"]["createWebhook"]


def a_project(live: LiveHub, name: str = "vision") -> str:
    run = hub.init(
        project=name, experiment="e", url=live.url, token=live.token, capture_environment=False
    )
    run.finish()
    return run.id


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveHub]:
    yield from start_hub(tmp_path, demo=False, webhook_disable_after=4, **FAST)


def test_deliveries_are_signed_and_follow_the_project_s_activity(
    live: LiveHub, receiver: Receiver
) -> None:
    a_project(live)
    made = add_hook(live, receiver.url, ["run.finish", "comment."])
    assert made["__typename"] == "WebhookCreated", made
    slack = add_hook(live, receiver.url + "/slack", ["comment."], "SLACK")
    run_id = a_project(live)
    live.graphql(
        'mutation($id: ID!) { addComment(kind: RUN, id: $id, body: "Looks good") { __typename } }',
        {"id": run_id},
    )
    hub.Client(live.url, live.token).upload_dataset("vision", "d", inspections(5))  # not wanted
    eventually(lambda: len(receiver.received) >= 3)
    time.sleep(0.5)  # nothing else arrives
    standard = [(h, b) for h, b in receiver.received if h["webhook-signature"] and b"type" in b]
    kinds = []
    for headers, body in standard:
        payload = Webhook(made["secret"]).verify(body, headers)  # raises if the signature is bad
        kinds.append(payload["type"])
        assert payload["data"]["project"] == "vision" and payload["data"]["actor"] == "admin"
    assert sorted(kinds) == ["comment.create", "run.finish"]
    texts = [json.loads(b)["text"] for h, b in receiver.received if b"text" in b]
    assert texts == ["*admin* commented on run " + texts[0].split("commented on run ")[1]]
    with pytest.raises(Exception, match=r"[Ss]ignature"):
        Webhook(slack["secret"]).verify(standard[0][1], standard[0][0])  # each hook its secret


def test_a_failing_receiver_is_retried_with_the_same_id_and_recovers(
    live: LiveHub, receiver: Receiver
) -> None:
    a_project(live)
    add_hook(live, receiver.url, ["run.finish"])
    receiver.mode = "fail"
    a_project(live)
    eventually(lambda: receiver.attempts >= 2)
    receiver.mode = "ok"
    eventually(lambda: receiver.received)
    (hook,) = live.graphql(HOOKS, {"p": "vision"})["data"]["webhooks"]
    (delivery,) = hook["deliveries"]
    assert delivery["attempts"] >= 3 and delivery["deliveredAt"] and delivery["lastStatus"] == 204
    assert receiver.ids() == [delivery["id"]]
    assert hook["failures"] == 0, "a success resets the count"


def test_a_hanging_receiver_times_out_gives_up_and_the_webhook_is_disabled(
    live: LiveHub, receiver: Receiver
) -> None:
    a_project(live)
    add_hook(live, receiver.url, ["run."])
    receiver.mode = "hang"
    a_project(live)  # two messages: run.create and run.finish; 4 attempts each at most

    def disabled() -> Any:
        (hook,) = live.graphql(HOOKS, {"p": "vision"})["data"]["webhooks"]
        return hook if hook["disabledAt"] else None

    hook = eventually(disabled, 60)
    assert "4 deliveries in a row failed" in hook["disabledReason"]
    assert "no answer within 1 s" in hook["disabledReason"]
    receiver.mode = "ok"
    a_project(live)  # while disabled: waits in the outbox
    time.sleep(1)
    assert receiver.received == []
    enabled = live.graphql(
        "mutation($id: ID!) { enableWebhook(id: $id) { __typename } }", {"id": hook["id"]}
    )
    assert enabled["data"]["enableWebhook"]["__typename"] == "Webhook"
    eventually(lambda: len(receiver.received) >= 2)
    assert len(set(receiver.ids())) == len(receiver.ids())


def test_redirects_are_not_followed(live: LiveHub, receiver: Receiver) -> None:
    for other in serve_receiver():
        a_project(live)
        add_hook(live, receiver.url, ["run.finish"])
        receiver.mode, receiver.redirect_to = "redirect", other.url
        a_project(live)
        eventually(lambda: receiver.attempts >= 1)

        def failed() -> Any:
            (hook,) = live.graphql(HOOKS, {"p": "vision"})["data"]["webhooks"]
            return hook["deliveries"][0]["lastError"]

        assert "redirect to" in eventually(failed) and "not followed" in failed()
        time.sleep(0.5)
        assert other.attempts == 0


BLOCKED = (
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::",
    "ff02::1",
    "192.0.2.1",
    "198.18.0.1",
    # IPv6 forms that embed an IPv4 target: NAT64, 6to4, IPv4-compatible, SIIT, Teredo
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::a00:1",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    "2002:c0a8:101::1",
    "::7f00:1",
    "::127.0.0.1",
    "::a9fe:a9fe",
    "::ffff:0:7f00:1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
)
PUBLIC = (
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "64:ff9b::808:808",
    "2002:808:808::1",
)


def test_the_ssrf_address_matrix() -> None:
    for text in BLOCKED:
        with pytest.raises(egress.Refused):
            egress.check_address(ipaddress.ip_address(text), ())
    for text in PUBLIC:
        egress.check_address(ipaddress.ip_address(text), ())
    allowed = egress.networks("10.20.0.0/16")
    egress.check_address(ipaddress.ip_address("10.20.3.4"), allowed)
    with pytest.raises(egress.Refused):
        egress.check_address(ipaddress.ip_address("10.21.0.1"), allowed)


def test_webhooks_to_the_hub_s_own_network_are_refused(hub_server: LiveHub) -> None:
    a_project(hub_server)
    for url, words in (
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://localhost:9/x", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.1.2.3/x", "private"),
        ("http://[::1]/x", "loopback"),
        ("http://[::ffff:127.0.0.1]/x", "loopback"),
        ("http://[64:ff9b::7f00:1]/x", "127.0.0.1 is a loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/x", "169.254.169.254 is a link-local"),
        ("http://[2002:7f00:1::]/x", "127.0.0.1 is a loopback"),
        ("http://[2002:a9fe:a9fe::]/x", "169.254.169.254 is a link-local"),
        ("http://[::7f00:1]/x", "127.0.0.1 is a loopback"),
        ("http://[::127.0.0.1]/x", "127.0.0.1 is a loopback"),
        ("http://0.0.0.0/x", "address"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.com/", "http:// or https://"),
        ("http://user:secret@example.com/", "no user name"),
        ("http://example.com:99999/", "port"),
        ("http://" + "a" * 2000 + ".com/", "2,000"),
    ):
        made = add_hook(hub_server, url)
        assert made["__typename"] == "ValidationError" and words in made["message"], (url, made)
    assert hub_server.graphql(HOOKS, {"p": "vision"})["data"]["webhooks"] == []


def test_the_address_is_checked_again_at_delivery(tmp_path: Path, receiver: Receiver) -> None:
    """A URL accepted earlier (its name resolved to a public address then, or an admin allowed
    the network then) is checked again on every attempt."""
    for live in start_hub(tmp_path / "a", demo=False, **FAST):
        a_project(live)
        add_hook(live, receiver.url, ["run.finish"])
    blocked = {**FAST, "webhook_allow_networks": ""}
    for live in start_hub(tmp_path / "a", demo=False, **blocked):
        a_project(live)

        def refused(live: LiveHub = live) -> Any:
            (hook,) = live.graphql(HOOKS, {"p": "vision"})["data"]["webhooks"]
            return hook["deliveries"] and hook["deliveries"][0]["lastError"]

        assert "loopback address" in eventually(refused)
        assert receiver.attempts == 0


def test_restricted_datasets_never_leave_the_hub(live: LiveHub, receiver: Receiver) -> None:

    a_project(live)
    client = hub.Client(live.url, live.token)
    client.upload_dataset("vision", "faces", inspections(5))
    restrict(live, "vision", "faces", "privacy")
    add_hook(live, receiver.url, ["dataset."])
    client.upload_dataset("vision", "faces", inspections(6))
    client.upload_dataset("vision", "parts", inspections(7))
    eventually(lambda: receiver.received)
    time.sleep(0.5)
    summaries = [json.loads(b)["data"]["summary"] for _, b in receiver.received]
    assert summaries == ["uploaded version 1 of dataset parts (7 rows)"]


def test_bad_input_and_roles(live: LiveHub) -> None:
    from tests.api.test_datasets import person

    a_project(live)
    editor = person(live, "eddie", "editor", "vision")
    wanted = {"p": "vision", "url": "https://example.com", "events": [], "format": "STANDARD"}
    denied = graphql_call(live.url, editor, CREATE, wanted)
    assert denied["data"]["createWebhook"]["__typename"] == "ForbiddenError"
    too_many = add_hook(live, "https://example.com", ["x" * 101])
    assert too_many["__typename"] == "ValidationError"
    missing = live.graphql('mutation { deleteWebhook(id: "nope") { __typename } }')
    assert missing["data"]["deleteWebhook"]["__typename"] == "NotFoundError"


def test_the_outbox_survives_kill_9_without_losing_or_repeating_a_delivery(
    tmp_path: Path, receiver: Receiver
) -> None:
    token = "webhook-kill-test-token-0123456789"
    log = tmp_path / "hub.log"
    started: list[subprocess.Popen[bytes]] = []

    def serve() -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = salon_env(
            tmp_path / "data",
            SALON_ADMIN_TOKEN=token,
            SALON_PORT=str(port),
            SALON_URL=url,
            SALON_WEBHOOK_ALLOW_NETWORKS="127.0.0.1/32",
            SALON_WEBHOOK_RETRY_SECONDS="0.3,0.3,0.3,0.3,0.3",
            SALON_WEBHOOK_TIMEOUT_SECONDS="3",
        )
        with log.open("ab") as out:
            started.append(
                subprocess.Popen([*SALON, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
            )
        eventually(lambda: _up(url), 60)
        return url

    try:
        url = serve()
        created = graphql_call(
            url,
            token,
            'mutation { createRun(input: {project: "vision", '
            'experiment: "e", name: "first"}) { __typename } }',
        )
        assert created["data"]["createRun"]["__typename"] == "Run"
        made = graphql_call(
            url,
            token,
            CREATE,
            {"p": "vision", "url": receiver.url, "events": [], "format": "STANDARD"},
        )
        assert made["data"]["createWebhook"]["__typename"] == "WebhookCreated"
        receiver.mode = "hang"  # the first delivery is in flight when the hub dies
        names = [f"run-{i}" for i in range(5)]
        for name in names:
            graphql_call(url, token, RUN, {"n": name})
        eventually(lambda: receiver.attempts >= 1)
        os.kill(started[0].pid, signal.SIGKILL)
        started[0].wait(timeout=30)
        receiver.mode = "ok"
        url = serve()
        eventually(lambda: len(receiver.received) >= len(names), 60)
        time.sleep(1.5)  # nothing more arrives
        summaries = [json.loads(b)["data"]["summary"] for _, b in receiver.received]
        assert sorted(summaries) == sorted(f"started run {n} in e" for n in names)
        assert len(set(receiver.ids())) == len(receiver.ids()) == len(names), "none twice"
    finally:
        for process in started:
            if process.poll() is None:
                stop(process)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
