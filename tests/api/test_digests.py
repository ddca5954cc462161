"""Digests: what each person missed, in their time zone, written to a folder or mailed through
a real SMTP server (aiosmtpd on 127.0.0.1), escaped, and never showing what they may not see."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import hub
from tests.api.test_datasets import inspections, person, restrict
from tests.api.test_discussions import ADD, a_run, as_person
from tests.conftest import LiveHub, free_port, start_hub

CHOOSE = """mutation($f: String!, $z: String!) { setDigestSettings(frequency: $f, timeZone: $z) {
  __typename ... on DigestSettings { frequency timeZone } ... on Error { message } } }"""
SEND = """mutation($force: Boolean!) { sendDigests(force: $force) {
  __typename ... on DigestsSent { people } ... on Error { message } } }"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def scene(live: LiveHub) -> dict[str, str]:
    run_id = a_run(live)
    tokens = {
        "ada": person(live, "ada", "commenter", "vision"),
        "bob": person(live, "bob", "editor", "vision"),
    }
    chosen = as_person(live, tokens["bob"], CHOOSE, {"f": "weekly", "z": "Asia/Tokyo"})
    assert chosen["setDigestSettings"]["timeZone"] == "Asia/Tokyo"
    said = as_person(
        live,
        tokens["ada"],
        ADD,
        {"k": "RUN", "id": run_id, "body": "@bob is <script>alert(1)</script> the lr right?"},
    )
    assert said["addComment"]["__typename"] == "Comment"
    return tokens


def test_a_digest_goes_to_a_folder_when_there_is_no_mail_server(hub_server: LiveHub) -> None:
    tokens = scene(hub_server)
    sent = hub_server.graphql(SEND, {"force": True})["data"]["sendDigests"]
    assert sent["people"] == ["bob"]
    (html_file,) = (hub_server.settings.data_dir / "digests" / "bob").glob("*.html")
    html = html_file.read_text()
    markdown = html_file.with_suffix(".md").read_text()
    assert "For you (2)" in html and "times in Asia/Tokyo" in html  # the mention, the new role
    assert "mentioned you" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "- **ada** commented on run" in markdown
    again = hub_server.graphql(SEND, {"force": False})["data"]["sendDigests"]
    assert again["people"] == [], "weekly: not due again yet"
    preview = as_person(hub_server, tokens["bob"], "{ digestPreview { subject markdown } }")
    assert preview["digestPreview"]["subject"].startswith("Salon this week")


def test_a_digest_is_mailed_through_smtp(tmp_path: Path, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    for live in start_hub(
        tmp_path,
        demo=False,
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="Salon <salon@plant.example>",
    ):
        scene(live)
        asyncio.run(
            live.store.users.update(  # give bob an address
                asyncio.run(live.store.users.by_name("bob")).id,  # type: ignore[union-attr]
                {"email": "bob@plant.example"},
                audit=[],
            )
        )
        assert live.graphql(SEND, {"force": True})["data"]["sendDigests"]["people"] == ["bob"]
    ((to, message),) = inbox.messages
    assert to == ["bob@plant.example"]
    assert message["From"] == "Salon <salon@plant.example>"
    assert message["Subject"].startswith("Salon this week: 2 for you")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in html and "For you (2)" in text


def test_digests_show_nothing_restricted_and_refuse_bad_input(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("vision", "faces", inspections(5))
    client.upload_dataset("vision", "parts", inspections(5))
    restrict(hub_server, "vision", "faces", "privacy")
    client.upload_dataset("vision", "faces", inspections(6))
    client.upload_dataset("vision", "parts", inspections(7))
    viewer = person(hub_server, "vic", "viewer", "vision")
    as_person(hub_server, viewer, CHOOSE, {"f": "daily", "z": "Europe/Berlin"})
    markdown = as_person(hub_server, viewer, "{ digestPreview { markdown } }")["digestPreview"][
        "markdown"
    ]
    assert "dataset parts" in markdown and "faces" not in markdown
    for frequency, zone, words in (("hourly", "UTC", "daily"), ("daily", "Mars/Olympus", "zone")):
        bad = as_person(hub_server, viewer, CHOOSE, {"f": frequency, "z": zone})
        assert words in bad["setDigestSettings"]["message"]
    refused = as_person(hub_server, viewer, SEND, {"force": True})["sendDigests"]
    assert refused["__typename"] == "ForbiddenError"
