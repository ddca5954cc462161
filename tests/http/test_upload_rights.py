"""Bulk uploads check the caller's right before the hub reads the body: an outsider or a
viewer who sends a large file gets the refusal at once, and nothing is written to disk."""

from __future__ import annotations

import socket

import hub
from tests.api.test_datasets import inspections, person
from tests.conftest import LiveHub

HUGE = 300 * 2**20  # what the request claims; only a little of it is ever sent


def answer_to_a_huge_body(live: LiveHub, path: str, token: str) -> str:
    """Send the headers of a 300 MB request and its first 64 KiB, then wait for the status
    line: a hub that reads the body before checking rights would wait for the rest."""
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {HUGE}\r\n\r\n".encode()
            + b"a,b\n1,2\n" * 8192
        )
        status_line = conn.recv(4096).split(b"\r\n", 1)[0].decode()
    return status_line


def test_dataset_and_metric_uploads_are_refused_before_the_body_is_read(
    hub_server: LiveHub,
) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "inspections", inspections())
    run = hub.init(
        project="quality",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    outsider = person(hub_server, "olga", None)
    viewer = person(hub_server, "vic", "viewer")
    scratch = hub_server.settings.data_dir / "tmp"
    before = sorted(scratch.iterdir()) if scratch.exists() else []
    cases = [
        ("/api/v1/projects/quality/datasets/inspections/versions?filename=x.csv", outsider, "404"),
        ("/api/v1/projects/quality/datasets/inspections/versions?filename=x.csv", viewer, "403"),
        ("/api/v1/projects/quality/datasets/brand-new/versions?filename=x.csv", viewer, "403"),
        (f"/api/v1/runs/{run.id}/metrics?batch_id=b1", outsider, "404"),
        (f"/api/v1/runs/{run.id}/metrics?batch_id=b1", viewer, "403"),
    ]
    for path, token, status in cases:
        assert answer_to_a_huge_body(hub_server, path, token).split(" ")[1] == status, path
    after = sorted(scratch.iterdir()) if scratch.exists() else []
    assert after == before, "nothing of the refused bodies was written"
    datasets = hub_server.graphql('{ datasets(project: "quality") { name } }')["data"]
    assert [d["name"] for d in datasets["datasets"]] == ["inspections"]
    run.finish()
