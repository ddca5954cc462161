"""Wiki pages with live cards and shared notebooks through GraphQL on a real hub: versions,
references resolved per reader, notebooks rendered safely cell by cell, comments on cells, bad
input and roles."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

import hub
from tests.api.test_datasets import inspections, person, restrict
from tests.api.test_discussions import ADD, as_person
from tests.conftest import LiveHub

SAVE = """mutation($p: String!, $s: String!, $b: String!, $t: String!, $k: String!, $m: String!) {
  savePage(project: $p, slug: $s, body: $b, title: $t, kind: $k, message: $m) {
    __typename ... on Page { id version title html } ... on Error { message } } }"""
PAGE = """query($p: String!, $s: String!, $v: Int) { page(project: $p, slug: $s, version: $v) {
  __typename ... on Error { message }
  ... on Page { id version title body html kind runId cards { reference title state objectId }
                cells { index kind html } history { version message author } } } }"""
PNG = base64.b64encode(  # a one-pixel PNG
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def save(
    live: LiveHub,
    token: str,
    slug: str,
    body: str,
    title: str = "",
    kind: str = "page",
    message: str = "",
) -> dict[str, Any]:
    return as_person(
        live,
        token,
        SAVE,
        {"p": "vision", "s": slug, "b": body, "t": title, "k": kind, "m": message},
    )["savePage"]


def page(live: LiveHub, token: str, slug: str, version: int | None = None) -> dict[str, Any]:
    return as_person(live, token, PAGE, {"p": "vision", "s": slug, "v": version})["page"]


def test_pages_are_versioned_and_their_cards_follow_each_reader(hub_server: LiveHub) -> None:
    run = hub.init(
        project="vision",
        experiment="e",
        name="lr-3e-4",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    run.finish()
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("vision", "parts", inspections(20))
    client.upload_dataset("vision", "faces", inspections(5))
    restrict(hub_server, "vision", "faces", "privacy")
    ada = person(hub_server, "ada", "commenter", "vision")
    body = (
        "# Decisions\n\nWe ship [[run:lr-3e-4]] trained on [[dataset:parts@1]].\n"
        "Open questions: [[dataset:faces]], [[dataset:nope]].\n<script>alert(1)</script>"
    )
    first = save(hub_server, ada, "decisions", body, "Decisions", message="first cut")
    assert (first["__typename"], first["version"]) == ("Page", 1), first
    assert "<script>" not in first["html"] and "<h1>Decisions</h1>" in first["html"]
    second = save(
        hub_server,
        hub_server.token,
        "decisions",
        body + "\n\nAgreed on Monday.",
        "Decisions",
        message="agreed",
    )
    assert second["version"] == 2
    seen = page(hub_server, ada, "decisions")
    assert seen["version"] == 2 and [h["version"] for h in seen["history"]] == [2, 1]
    assert seen["history"][1]["message"] == "first cut"
    cards = {c["reference"]: c for c in seen["cards"]}
    assert cards["run:lr-3e-4"]["state"] == "finished" and cards["run:lr-3e-4"]["objectId"]
    assert cards["dataset:parts@1"]["state"].startswith("version 1: 20 rows")
    assert cards["dataset:faces"] == {
        **cards["dataset:faces"],
        "objectId": None,
        "state": "not found, or not yours to see",
    }
    assert {k: v for k, v in cards["dataset:nope"].items() if k != "reference"} == {
        k: v for k, v in cards["dataset:faces"].items() if k != "reference"
    } | {"title": "dataset nope"}, "a hidden dataset looks like a missing one"
    # In the text, each reference reads as its card: the same words, for the same reader.
    assert "[[" not in seen["html"]
    assert '<span class="reference">run lr-3e-4 (finished)</span>' in seen["html"]
    assert (
        '<span class="reference">dataset faces (not found, or not yours to see)</span>'
        in seen["html"]
    )
    as_admin = page(hub_server, hub_server.token, "decisions")
    admin_cards = {c["reference"]: c for c in as_admin["cards"]}
    assert admin_cards["dataset:faces"]["objectId"] is not None
    assert '<span class="reference">dataset faces (version 1: 5 rows' in as_admin["html"]
    assert page(hub_server, ada, "decisions", 1)["body"] == body


def notebook() -> str:
    book = v4.new_notebook()
    book.cells = [
        v4.new_markdown_cell("# Why line C drifts\nA look at the **oven** change."),
        v4.new_code_cell(
            "df.groupby('line').temperature_c.mean()",
            execution_count=1,
            outputs=[
                v4.new_output("stream", name="stdout", text="computing\n"),
                v4.new_output("display_data", data={"image/png": PNG}),
                v4.new_output(
                    "execute_result",
                    execution_count=1,
                    data={
                        "text/html": "<table><tr><td>C</td><td>44.1</td></tr>"
                        "</table><script>alert(1)</script>",
                        "text/plain": "line C 44.1",
                    },
                ),
            ],
        ),
        v4.new_code_cell(
            "1/0",
            outputs=[
                v4.new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=["\x1b[31mZeroDivisionError\x1b[0m: division by zero"],
                )
            ],
        ),
    ]
    return str(nbformat.writes(book))


def test_notebooks_render_cell_by_cell_safely_and_take_comments(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    run = hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    path = tmp_path / "Line C drift.ipynb"
    path.write_text(notebook())
    made = run.attach_notebook("vision", path, message="after the oven change")
    assert (made["slug"], made["version"], made["title"]) == (
        "line-c-drift",
        1,
        "Why line C drifts",
    )
    shown = page(hub_server, hub_server.token, "line-c-drift")
    assert shown["kind"] == "notebook" and shown["runId"] == run.id
    markdown, code, error = shown["cells"]
    assert "<strong>oven</strong>" in markdown["html"]
    assert f'src="data:image/png;base64,{PNG}"' in code["html"]
    assert "<td>44.1</td>" in code["html"] and "script" not in code["html"]
    assert "computing" in code["html"] and "\x1b" not in error["html"]
    attached = hub_server.graphql(
        "query($id: ID!) { runNotebooks(runId: $id) { slug } }", {"id": run.id}
    )["data"]["runNotebooks"]
    assert attached == [{"slug": "line-c-drift"}]
    said = hub_server.graphql(
        ADD, {"k": "PAGE", "id": shown["id"], "body": "Nice plot", "anchor": {"cell": 1}}
    )["data"]["addComment"]
    assert said["__typename"] == "Comment"
    beyond = hub_server.graphql(
        ADD, {"k": "PAGE", "id": shown["id"], "body": "x", "anchor": {"cell": 9}}
    )["data"]["addComment"]
    assert "numbered 0 to 2" in beyond["message"]
    run.finish()


def test_bad_pages_and_roles(hub_server: LiveHub) -> None:
    hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    ).finish()
    viewer = person(hub_server, "vic", "viewer", "vision")
    outsider = person(hub_server, "oz", None)
    token = hub_server.token
    for slug, body, kind, words in (
        ("Bad Slug!", "x", "page", "lowercase letters"),
        ("ok", "x" * 200_001, "page", "at most 200,000"),
        ("nb", json.dumps({"cells": "nope"}), "notebook", "not a Jupyter notebook"),
        ("nb2", "not json at all", "notebook", "not a Jupyter notebook"),
        ("ok", "x", "slides", "a page or a notebook"),
    ):
        got = save(hub_server, token, slug, body, "Title", kind)
        assert got["__typename"] in ("ValidationError",) and words in got["message"], got
    assert save(hub_server, token, "notes", "hello", "")["__typename"] == "ValidationError"
    assert save(hub_server, token, "notes", "hello", "Notes")["version"] == 1
    assert save(hub_server, token, "notes", notebook(), "", "notebook")["message"].endswith(
        "is already a page."
    )
    assert save(hub_server, viewer, "mine", "x", "Mine")["__typename"] == "ForbiddenError"
    assert page(hub_server, viewer, "notes")["title"] == "Notes"
    assert save(hub_server, outsider, "mine", "x", "Mine")["__typename"] == "NotFoundError"
    assert page(hub_server, outsider, "notes")["__typename"] == "NotFoundError"
    assert page(hub_server, viewer, "nope")["__typename"] == "NotFoundError"
