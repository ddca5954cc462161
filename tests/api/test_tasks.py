"""Tasks through GraphQL on a real hub: the board, my work, assigning, moving, links that
respect restrictions, a task closing itself when its run finishes, bad and concurrent input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hub
from tests.api.test_datasets import inspections, person, restrict
from tests.api.test_discussions import ADD, INBOX, a_run, as_person
from tests.conftest import LiveHub

CREATE = """mutation($p: String!, $input: TaskInput!) { createTask(project: $p, input: $input) {
  __typename ... on Task { id number title status assignee dueDate labels closeWithRun
                           links { kind id } html }
  ... on Error { message } } }"""
UPDATE = """mutation($id: ID!, $input: TaskInput!) { updateTask(id: $id, input: $input) {
  __typename ... on Task { id number status assignee closedAt links { kind id } }
  ... on Error { message } } }"""
BOARD = """query($p: String!) { tasks(project: $p) { number title status assignee
  links { kind id } } }"""
MINE = "{ myWork { number title project dueDate } }"


def create(live: LiveHub, token: str, **values: Any) -> dict[str, Any]:
    made: dict[str, Any] = as_person(live, token, CREATE, {"p": "vision", "input": values})[
        "createTask"
    ]
    return made


def test_the_board_my_work_and_a_task_closing_with_its_run(hub_server: LiveHub) -> None:
    run = hub.init(
        project="vision",
        experiment="e",
        name="retrain",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    ada = person(hub_server, "ada", "commenter", "vision")
    bob = person(hub_server, "bob", "editor", "vision")
    made = create(
        hub_server,
        ada,
        title="Retrain with the new oven data",
        assignee="bob",
        dueDate="2026-12-04",
        labels=["data", "line C"],
        description="See the **Line C** thread.",
        closeWithRun=True,
        links=[{"kind": "RUN", "id": run.id}],
    )
    assert made["__typename"] == "Task", made
    assert (made["number"], made["status"], made["assignee"]) == (1, "todo", "bob")
    assert "<strong>Line C</strong>" in made["html"]
    second = create(hub_server, bob, title="Write the model card")
    assert second["number"] == 2
    assert [t["title"] for t in as_person(hub_server, bob, MINE)["myWork"]] == [
        "Retrain with the new oven data"
    ]
    told = as_person(hub_server, bob, INBOX)["inbox"]
    assert ("assign", "task.create") in {(n["reason"], n["entry"]["verb"]) for n in told}

    moved = as_person(hub_server, bob, UPDATE, {"id": made["id"], "input": {"status": "doing"}})
    assert moved["updateTask"]["status"] == "doing"
    said = as_person(hub_server, ada, ADD, {"k": "TASK", "id": made["id"], "body": "Thanks!"})
    assert said["addComment"]["__typename"] == "Comment"
    run.finish()
    board = {t["number"]: t for t in as_person(hub_server, ada, BOARD, {"p": "vision"})["tasks"]}
    assert board[1]["status"] == "done", "closed because its run finished"
    assert board[2]["status"] == "todo"
    assert [t["number"] for t in as_person(hub_server, ada, BOARD, {"p": "vision"})["tasks"]] == [
        2,
        1,
    ], "open tasks first"
    assert as_person(hub_server, bob, MINE)["myWork"] == []
    feed = hub_server.graphql(
        '{ activity(project: "vision", verbs: ["task."]) { '
        "... on ActivityPage { entries { summary } } } }"
    )
    summaries = [e["summary"] for e in feed["data"]["activity"]["entries"]]
    assert (
        summaries[0]
        == "closed task #1 because run retrain finished: Retrain with the new oven data"
    )
    assert "moved task #1 to doing: Retrain with the new oven data" in summaries


def test_links_respect_restrictions_and_bad_input_is_explained(hub_server: LiveHub) -> None:
    a_run(hub_server)
    other_run = a_run(hub_server, "elsewhere")
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("vision", "faces", inspections(5))
    faces_id = restrict(hub_server, "vision", "faces", "privacy")
    ada = person(hub_server, "ada", "commenter", "vision")
    viewer = person(hub_server, "vic", "viewer", "vision")
    made = create(
        hub_server,
        hub_server.token,
        title="Check the faces",
        links=[{"kind": "DATASET", "id": faces_id}],
    )
    assert made["links"] == [{"kind": "DATASET", "id": faces_id}]
    seen = as_person(hub_server, ada, BOARD, {"p": "vision"})["tasks"]
    assert seen[0]["title"] == "Check the faces" and seen[0]["links"] == [], "hidden link"
    for values, words in (
        ({"title": "  "}, "must not be empty"),
        ({"title": "x" * 201}, "limit is 200"),
        ({"title": "t", "status": "someday"}, "todo, doing, review, done"),
        ({"title": "t", "assignee": "nobody"}, "nobody called"),
        ({"title": "t", "labels": ["l"] * 21}, "At most 20 labels"),
        ({"title": "t", "links": [{"kind": "RUN", "id": other_run}]}, "No run with id"),
        ({"title": "t", "links": [{"kind": "DATASET", "id": faces_id}]}, "No dataset"),
        ({"title": "t", "description": "d" * 20_001}, "20,000"),
    ):
        got = create(hub_server, ada, **values)
        assert words in got.get("message", ""), (values, got)
    across = create(
        hub_server, hub_server.token, title="t", links=[{"kind": "RUN", "id": other_run}]
    )
    assert "is in another project" in across["message"]
    denied = create(hub_server, viewer, title="Not mine to open")
    assert denied["__typename"] == "ForbiddenError"
    outsider = person(hub_server, "oz", None)
    assert create(hub_server, outsider, title="x")["__typename"] == "NotFoundError"
    hidden = as_person(
        hub_server, outsider, UPDATE, {"id": made["id"], "input": {"status": "done"}}
    )
    assert hidden["updateTask"]["__typename"] == "NotFoundError"


def test_concurrent_tasks_get_their_own_numbers(hub_server: LiveHub) -> None:
    a_run(hub_server)

    def one(i: int) -> int:
        return int(create(hub_server, hub_server.token, title=f"task {i}")["number"])

    with ThreadPoolExecutor(8) as pool:
        numbers = sorted(pool.map(one, range(30)))
    assert numbers == list(range(1, 31))


FINISH = """mutation($id: ID!, $s: RunStatus!) { finishRun(id: $id, status: $s) {
  __typename ... on Run { status } ... on Error { message } } }"""


def test_a_run_marked_failed_stays_failed_when_its_script_exits(hub_server: LiveHub) -> None:
    """Someone marks a run FAILED while its script still runs; when the script ends, the
    client's own finish is refused, the run stays failed and its task stays open."""
    run = hub.init(
        project="vision",
        experiment="e",
        name="bad-data",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    made = create(
        hub_server,
        hub_server.token,
        title="Retrain",
        closeWithRun=True,
        links=[{"kind": "RUN", "id": run.id}],
    )
    failed = hub_server.graphql(FINISH, {"id": run.id, "s": "FAILED"})["data"]["finishRun"]
    assert failed == {"__typename": "Run", "status": "FAILED"}
    again = hub_server.graphql(FINISH, {"id": run.id, "s": "FAILED"})["data"]["finishRun"]
    assert again == {"__typename": "Run", "status": "FAILED"}, "a retried finish is a no-op"
    with pytest.warns(hub.HubWarning, match="already ended failed"):
        run.finish()  # what the script does at exit
    for status in ("FINISHED", "KILLED"):
        refused = hub_server.graphql(FINISH, {"id": run.id, "s": status})["data"]["finishRun"]
        assert refused["__typename"] == "ConflictError", refused
        assert "final status does not change" in refused["message"]
    stored = hub_server.graphql("query($id: ID!) { run(id: $id) { status } }", {"id": run.id})
    assert stored["data"]["run"]["status"] == "FAILED"
    board = as_person(hub_server, hub_server.token, BOARD, {"p": "vision"})["tasks"]
    assert [t["status"] for t in board if t["title"] == made["title"]] == ["todo"]


def test_concurrent_finishes_with_different_statuses_end_the_run_once(
    hub_server: LiveHub,
) -> None:
    run = a_run(hub_server)
    statuses = ["FINISHED", "FAILED", "KILLED"] * 4
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(
                lambda s: hub_server.graphql(FINISH, {"id": run, "s": s})["data"]["finishRun"],
                statuses,
            )
        )
    ended = {r["status"] for r in results if r["__typename"] == "Run"}
    assert len(ended) == 1, results
    assert all(r["__typename"] in ("Run", "ConflictError") for r in results), results
    finishes = hub_server.graphql(
        '{ activity(project: "vision", verbs: ["run.finish"]) '
        "{ ... on ActivityPage { entries { summary } } } }"
    )["data"]["activity"]["entries"]
    assert len(finishes) == 1, finishes


def test_runs_ending_together_close_exactly_their_own_tasks(hub_server: LiveHub) -> None:
    """Runs ended in one request of the process's sender: the tasks of those that finished
    close (when they asked to), those of a failed run and those that did not ask stay open."""

    def start(name: str) -> hub.Run:
        return hub.init(
            "vision",
            "e",
            name=name,
            url=hub_server.url,
            token=hub_server.token,
            capture_environment=False,
        )

    first, second, failing = start("first"), start("second"), start("failing")
    ada = person(hub_server, "ada", "editor", "vision")
    asked = {
        "first": create(hub_server, ada, title="first", closeWithRun=True, links=[run_link(first)]),
        "second": create(
            hub_server, ada, title="second", closeWithRun=True, links=[run_link(second)]
        ),
        "failing": create(
            hub_server, ada, title="failing", closeWithRun=True, links=[run_link(failing)]
        ),
        "kept": create(hub_server, ada, title="kept", links=[run_link(first)]),
    }
    assert all(task["__typename"] == "Task" for task in asked.values()), asked
    first.finish(wait=False)
    second.finish(wait=False)
    failing.finish("failed", wait=False)
    assert hub.flush(timeout=60)
    board = {
        t["title"]: t["status"] for t in as_person(hub_server, ada, BOARD, {"p": "vision"})["tasks"]
    }
    assert board == {"first": "done", "second": "done", "failing": "todo", "kept": "todo"}


def run_link(run: hub.Run) -> dict[str, str]:
    return {"kind": "RUN", "id": run.id}
