"""Comments, the activity feed and the inbox through GraphQL on a real hub: threads, anchors,
mentions, sanitizing, reactions, resolving, edit history, roles and restrictions, bad and
concurrent input."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

import hub
from hub.services.collaboration import comments
from hub.services.identity import accounts
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import inspections, person, restrict
from tests.conftest import LiveHub, graphql_call

ADD = """mutation($k: TargetKind!, $id: ID!, $body: String!, $anchor: CommentAnchorInput,
  $reply: ID) { addComment(kind: $k, id: $id, body: $body, anchor: $anchor, replyTo: $reply) {
  __typename ... on Comment { id threadId author html mentions }
  ... on Error { message } } }"""
DISCUSSION = """query($k: TargetKind!, $id: ID!) { discussion(kind: $k, id: $id) {
  __typename ... on Error { message }
  ... on Discussion { openThreads watching threads {
    id resolvedBy anchor { metric steps filter }
    comments { id author body html editedAt deletedAt
               reactions { emoji count people mine } } } } } }"""
REACT = "mutation($id: ID!, $e: String!) { react(id: $id, emoji: $e) { __typename } }"
EDIT = """mutation($id: ID!, $b: String!) { editComment(id: $id, body: $b) {
  __typename ... on Comment { body } ... on Error { message } } }"""
HISTORY = "query($id: ID!) { commentHistory(id: $id) { body editedBy } }"
FEED = """query($p: String, $k: TargetKind, $id: ID, $actor: String, $verbs: [String!],
  $before: String, $limit: Int! = 50) {
  activity(project: $p, aboutKind: $k, aboutId: $id, actor: $actor, verbs: $verbs,
           before: $before, limit: $limit) {
  __typename ... on Error { message }
  ... on ActivityPage { nextBefore entries { verb actor summary project targetId detail } } } }"""
INBOX = "{ unreadNotifications inbox { reason readAt entry { id verb summary actor } } }"


def as_person(
    live: LiveHub, token: str, query: str, variables: dict[str, Any] | None = None
) -> Any:
    return graphql_call(live.url, token, query, variables)["data"]


def a_run(live: LiveHub, project: str = "vision") -> str:
    run = hub.init(
        project=project,
        experiment="detector",
        url=live.url,
        token=live.token,
        capture_environment=False,
    )
    run.log({"loss": 1.0}, step=0)
    run.finish()
    return run.id


def test_threads_mentions_reactions_resolving_and_history(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)
    ada = person(hub_server, "ada", "commenter", "vision")
    bob = person(hub_server, "bob", "editor", "vision")
    person(hub_server, "cyd", None)  # cannot see the project: mentions do not reach her
    asyncio.run(accounts.create_group(hub_server.store, SYSTEM, "reviewers"))
    asyncio.run(accounts.add_member(hub_server.store, SYSTEM, "reviewers", "bob"))
    anchor = {"metric": "loss", "steps": [100, 200]}
    first = as_person(
        hub_server,
        ada,
        ADD,
        {
            "k": "RUN",
            "id": run_id,
            "anchor": anchor,
            "body": "Loss jumps here, @bob @cyd. Is **warm-up** too short? cc @reviewers",
        },
    )["addComment"]
    assert first["__typename"] == "Comment", first
    assert first["mentions"] == ["bob", "cyd", "reviewers"]
    assert '<span class="mention">@bob</span>' in first["html"]
    assert "<strong>warm-up</strong>" in first["html"]
    reply = as_person(
        hub_server,
        bob,
        ADD,
        {
            "k": "RUN",
            "id": run_id,
            "reply": first["id"],
            "body": "Yes, try 500 steps.",
        },
    )["addComment"]
    assert reply["threadId"] == first["id"]
    for token, emoji in ((bob, "+1"), (ada, "+1"), (bob, "eyes")):
        reacted = as_person(hub_server, token, REACT, {"id": first["id"], "e": emoji})
        assert reacted["react"]["__typename"] == "Comment"
    edited = as_person(hub_server, bob, EDIT, {"id": reply["id"], "b": "Yes: 500 steps."})
    assert edited["editComment"]["body"] == "Yes: 500 steps."
    refused = as_person(hub_server, ada, EDIT, {"id": reply["id"], "b": "mine now"})["editComment"]
    assert "Only its author" in refused["message"]
    resolve = (
        "mutation($id: ID!, $r: Boolean!) { resolveThread(id: $id, resolved: $r) { __typename } }"
    )
    as_person(hub_server, ada, resolve, {"id": reply["id"], "r": True})

    seen = as_person(hub_server, ada, DISCUSSION, {"k": "RUN", "id": run_id})["discussion"]
    assert seen["openThreads"] == 0
    (thread,) = seen["threads"]
    assert thread["resolvedBy"] == "ada" and thread["anchor"]["steps"] == [100, 200]
    assert [c["author"] for c in thread["comments"]] == ["ada", "bob"]
    assert thread["comments"][1]["editedAt"] is not None
    reactions = {r["emoji"]: r for r in thread["comments"][0]["reactions"]}
    assert reactions["+1"]["count"] == 2 and reactions["+1"]["mine"] is True
    history = as_person(hub_server, bob, HISTORY, {"id": reply["id"]})["commentHistory"]
    assert history == [{"body": "Yes, try 500 steps.", "editedBy": "bob"}]

    inbox = as_person(hub_server, bob, INBOX)
    reasons = {(n["entry"]["verb"], n["reason"]) for n in inbox["inbox"]}
    assert ("comment.create", "mention") in reasons, inbox
    assert inbox["unreadNotifications"] == len(inbox["inbox"])
    ada_inbox = as_person(hub_server, ada, INBOX)["inbox"]
    assert {(n["entry"]["verb"], n["reason"]) for n in ada_inbox} >= {("comment.reply", "reply")}
    cyd = person_token(hub_server, "cyd")
    assert as_person(hub_server, cyd, INBOX)["inbox"] == [], "cyd cannot see the run"
    marked = as_person(
        hub_server, bob, "mutation { markNotificationsRead { ... on Count { count } } }"
    )
    assert marked["markNotificationsRead"]["count"] == inbox["unreadNotifications"]
    assert as_person(hub_server, bob, INBOX)["unreadNotifications"] == 0

    feed = as_person(hub_server, ada, FEED, {"p": "vision", "verbs": ["comment."]})["activity"]
    verbs = [e["verb"] for e in feed["entries"]]
    assert verbs == ["comment.resolve", "comment.edit", "comment.reply", "comment.create"]
    assert feed["entries"][-1]["summary"].startswith("commented on run ")
    about = as_person(hub_server, ada, FEED, {"k": "RUN", "id": run_id})["activity"]["entries"]
    assert {e["verb"] for e in about} >= {"comment.create", "run.create", "run.finish"}
    by_bob = as_person(hub_server, ada, FEED, {"p": "vision", "actor": "bob"})["activity"]
    assert {e["actor"] for e in by_bob["entries"]} == {"bob"}
    page = as_person(hub_server, ada, FEED, {"p": "vision", "limit": 2})["activity"]
    rest = as_person(hub_server, ada, FEED, {"p": "vision", "before": page["nextBefore"]})
    assert len(page["entries"]) == 2 and rest["activity"]["entries"][0] not in page["entries"]


def person_token(live: LiveHub, name: str) -> str:
    from hub.services.identity import tokens

    user = asyncio.run(live.store.users.by_name(name))
    assert user is not None
    principal = asyncio.run(
        tokens.principal_for_user(live.store, user, auth_method="session", auth_id=None)
    )
    return asyncio.run(tokens.create_token(live.store, principal, "t2"))[1]


SAFE_TAGS = {"p", "a", "img", "strong", "em", "code", "pre", "span", "br"}


def tags_in(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of ``html`` as the browser's parser sees it: tag and attributes."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_markdown_is_sanitized(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)
    attacks = (
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        '<img src=x onerror="alert(1)">',
        "![x](javascript:alert(1))",
        '<a href="http://x" onclick="alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<iframe src=//evil.example></iframe>",
        "<svg onload=alert(1)>",
    )
    for body in attacks:
        html = hub_server.graphql(ADD, {"k": "RUN", "id": run_id, "body": body})["data"][
            "addComment"
        ]["html"]
        for tag, attributes in tags_in(html):
            assert tag in SAFE_TAGS, (body, html)
            for name, value in attributes:
                assert not name.startswith("on"), (body, html)
                if name in ("href", "src"):
                    assert (value or "").startswith(("http://", "https://", "mailto:")), html
    link = hub_server.graphql(ADD, {"k": "RUN", "id": run_id, "body": "[docs](https://a.example)"})
    assert 'rel="noopener noreferrer nofollow"' in link["data"]["addComment"]["html"]


def test_roles_restrictions_and_bad_input(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "patients", inspections(20))
    version_id = hub_server.graphql(
        '{ dataset(project: "quality", name: "patients") { version { id } } }'
    )["data"]["dataset"]["version"]["id"]
    dataset_id = asyncio.run(
        hub_server.store.datasets.by_name(
            asyncio.run(hub_server.store.projects.by_name("quality")).id, "patients"
        )
    ).id  # type: ignore[union-attr]
    viewer = person(hub_server, "vic", "viewer")
    outsider = person(hub_server, "oz", None)
    member = person(hub_server, "mia", "commenter")
    stranger = person(hub_server, "sam", "commenter")
    asyncio.run(accounts.create_group(hub_server.store, SYSTEM, "clinic"))
    asyncio.run(accounts.add_member(hub_server.store, SYSTEM, "clinic", "mia"))
    asyncio.run(
        access.restrict(
            hub_server.store,
            SYSTEM,
            asyncio.run(hub_server.store.projects.by_name("quality")),
            "dataset",
            dataset_id,
            ["clinic"],
        )
    )  # type: ignore[arg-type]

    said = as_person(
        hub_server,
        member,
        ADD,
        {
            "k": "DATASET_VERSION",
            "id": version_id,
            "body": "Row 3 looks wrong @sam @mia",
            "anchor": {"filter": "temperature_c > 45"},
        },
    )["addComment"]
    assert said["__typename"] == "Comment", said
    denied = as_person(
        hub_server, viewer, ADD, {"k": "DATASET_VERSION", "id": version_id, "body": "hi"}
    )["addComment"]
    assert denied["__typename"] == "NotFoundError", "vic is not in the clinic group"
    for token in (outsider, stranger):
        seen = as_person(hub_server, token, DISCUSSION, {"k": "DATASET_VERSION", "id": version_id})
        assert seen["discussion"]["__typename"] == "NotFoundError"
        feed = as_person(hub_server, token, FEED, {})["activity"]
        assert all(e["targetId"] != version_id for e in feed["entries"]), "feed leaks nothing"
        told = as_person(hub_server, token, INBOX)["inbox"]
        assert all(n["reason"] != "mention" for n in told), "sam is mentioned but blind"
    assert any(
        e["targetId"] == version_id
        for e in as_person(hub_server, member, FEED, {"p": "quality"})["activity"]["entries"]
    )

    run_id = a_run(hub_server, "quality")
    read_only = as_person(hub_server, viewer, ADD, {"k": "RUN", "id": run_id, "body": "hi"})
    assert read_only["addComment"]["__typename"] == "ForbiddenError"
    bad_cases = (
        ({"body": "   "}, "empty"),
        ({"body": "x" * 20_001}, "limit is 20,000"),
        ({"body": "a", "anchor": {"filter": "x > 1"}}, "dataset version"),
        ({"body": "a", "anchor": {"metric": "loss", "steps": [5, 1]}}, "step range"),
        ({"body": "a", "reply": version_id}, "not on this object"),
    )
    for extra, words in bad_cases:
        got = hub_server.graphql(ADD, {"k": "RUN", "id": run_id, **extra})["data"]["addComment"]
        assert words in got.get("message", ""), (extra, got)
    bad_filter = hub_server.graphql(
        ADD,
        {
            "k": "DATASET_VERSION",
            "id": version_id,
            "body": "a",
            "anchor": {"filter": "nope >"},
        },
    )["data"]["addComment"]
    assert bad_filter["__typename"] in ("FilterError", "ValidationError"), bad_filter
    react = hub_server.graphql(
        'mutation($id: ID!) { react(id: $id, emoji: "<script>") { ... on Error { message } } }',
        {"id": said["id"]},
    )
    assert "React with one of" in react["data"]["react"]["message"]
    missing = hub_server.graphql(DISCUSSION, {"k": "RUN", "id": "0190-nope"})["data"]["discussion"]
    assert missing["__typename"] == "NotFoundError"


def test_concurrent_comments_are_all_kept_once(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)

    def say(i: int) -> str:
        got = hub_server.graphql(ADD, {"k": "RUN", "id": run_id, "body": f"note {i}"})
        return str(got["data"]["addComment"]["id"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(say, range(40)))
    assert len(set(ids)) == 40
    seen = hub_server.graphql(DISCUSSION, {"k": "RUN", "id": run_id})["data"]["discussion"]
    bodies = sorted(t["comments"][0]["body"] for t in seen["threads"])
    assert bodies == sorted(f"note {i}" for i in range(40))
    feed = hub_server.graphql(
        FEED, {"k": "RUN", "id": run_id, "verbs": ["comment."], "limit": 200}
    )["data"]["activity"]["entries"]
    assert len(feed) == 40


def test_unauthenticated_callers_read_nothing(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server)
    for query, variables in ((DISCUSSION, {"k": "RUN", "id": run_id}), (INBOX, {})):
        response = httpx.post(
            f"{hub_server.url}/graphql", json={"query": query, "variables": variables}
        )
        assert response.status_code == 401 and "data" not in response.json()


def test_the_cost_rule_knows_how_many_kinds_of_reaction_there_are() -> None:
    from hub.api.cost import BOUNDED_LISTS
    from hub.services.collaboration.comments import EMOJI

    assert BOUNDED_LISTS["Comment.reactions"] == len(EMOJI)


def test_the_feed_tells_uploads_and_role_changes_to_those_who_may_see_them(
    hub_server: LiveHub,
) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "patients", inspections(30))
    client.upload_dataset("quality", "patients", inspections(30))  # identical: no new version
    client.upload_dataset("quality", "open-data", inspections(10))
    restrict(hub_server, "quality", "patients", "clinic")
    viewer = person(hub_server, "vic", "viewer")  # granted after the uploads: told in the inbox
    summaries = [
        e["summary"]
        for e in hub_server.graphql(FEED, {"p": "quality"})["data"]["activity"]["entries"]
    ]
    uploads = [s for s in summaries if s.startswith("uploaded")]
    assert uploads == [
        "uploaded version 1 of dataset open-data (10 rows)",
        "uploaded version 1 of dataset patients (30 rows)",
    ], summaries
    assert "limited a dataset to clinic" in summaries
    assert any(s.startswith("gave user vic the viewer role") for s in summaries)
    seen = [
        e["summary"]
        for e in as_person(hub_server, viewer, FEED, {"p": "quality"})["activity"]["entries"]
    ]
    assert not any("patients" in s or "limited" in s for s in seen), seen
    assert any("open-data" in s for s in seen)
    told = as_person(hub_server, viewer, INBOX)["inbox"]
    assert [(n["reason"], n["entry"]["verb"]) for n in told] == [("assign", "membership.grant")]


def test_a_comment_id_from_another_project_answers_as_one_that_does_not_exist(
    hub_server: LiveHub,
) -> None:
    """An outsider learns nothing from a comment id: not what it is on, nor that it exists."""
    run = a_run(hub_server)
    said = hub_server.graphql(ADD, {"k": "RUN", "id": run, "body": "secret plans"})
    real = said["data"]["addComment"]["id"]
    missing = "01a23e6b-0000-7000-8000-000000000000"
    outsider = person(hub_server, "oscar", None, "vision")
    typed = "{ __typename ... on Error { message } } }"
    operations = (
        "query($id: ID!) { commentHistory(id: $id) { body } }",
        'mutation($id: ID!) { editComment(id: $id, body: "x") ' + typed,
        'mutation($id: ID!) { react(id: $id, emoji: "+1") ' + typed,
        "mutation($id: ID!) { resolveThread(id: $id) " + typed,
        "mutation($id: ID!) { deleteComment(id: $id) " + typed,
    )
    for document in operations:
        answers = []
        for comment_id in (real, missing):
            response = httpx.post(
                f"{hub_server.url}/graphql",
                json={"query": document, "variables": {"id": comment_id}},
                headers={"Authorization": f"Bearer {outsider}"},
            )
            answers.append(response.text.replace(comment_id, "<id>"))
        assert answers[0] == answers[1], document
        assert run not in answers[0] and "No comment with id '<id>'" in answers[0], answers[0]


def test_the_unread_count_counts_only_what_the_inbox_shows(hub_server: LiveHub) -> None:
    """A role granted then revoked, and a dataset restricted away: the notifications about
    them leave both the inbox and the unread count."""
    run = a_run(hub_server)
    hub.Client(hub_server.url, hub_server.token).upload_dataset("vision", "labels", inspections())
    dataset_id = hub_server.graphql('{ dataset(project: "vision", name: "labels") { id } }')[
        "data"
    ]["dataset"]["id"]
    kim = person(hub_server, "kim", "commenter", "vision")
    for kind, target in (("RUN", run), ("DATASET", dataset_id)):
        hub_server.graphql(ADD, {"k": kind, "id": target, "body": "@kim have a look"})
    told = as_person(hub_server, kim, INBOX)
    assert (told["unreadNotifications"], len(told["inbox"])) == (3, 3), "the role, 2 mentions"
    restrict(hub_server, "vision", "labels", "label-team")
    told = as_person(hub_server, kim, INBOX)
    assert (told["unreadNotifications"], len(told["inbox"])) == (2, 2)
    asyncio.run(access.revoke_role(hub_server.store, SYSTEM, "vision", "user", "kim"))
    told = as_person(hub_server, kim, INBOX)
    assert (told["unreadNotifications"], told["inbox"]) == (0, [])


def test_changing_a_run_s_notes_is_in_the_feed(hub_server: LiveHub) -> None:
    run = a_run(hub_server)
    name = hub_server.graphql("query($id: ID!) { run(id: $id) { name } }", {"id": run})
    notes = "mutation($id: ID!, $n: String!) { setRunNotes(runId: $id, notes: $n) { __typename } }"
    for _ in range(2):
        hub_server.graphql(notes, {"id": run, "n": "Diverged after step 400: **bad shard**."})
    feed = hub_server.graphql(FEED, {"p": "vision", "verbs": ["run.set_notes"]})["data"]
    entries = feed["activity"]["entries"]
    assert [e["summary"] for e in entries] == [
        f"changed the notes of run {name['data']['run']['name']}"
    ], "once: the same notes again change nothing"
    assert entries[0]["detail"]["excerpt"].startswith("Diverged after step 400")


def test_a_long_discussion_pages_through_every_thread(hub_server: LiveHub) -> None:
    """2,005 threads on one run: every one is reachable, newest included, a page at a time."""
    run = a_run(hub_server)

    async def talk() -> None:
        for number in range(2005):
            await comments.add(hub_server.store, SYSTEM, "run", run, f"thread {number}")

    asyncio.run(talk())
    page = """query($id: ID!, $after: String) { discussion(kind: RUN, id: $id, first: 500,
      after: $after) { ... on Discussion { openThreads pageInfo { hasNextPage endCursor }
      threads { comments { body } } } } }"""
    bodies, after, pages = [], None, 0
    while True:
        found = hub_server.graphql(page, {"id": run, "after": after})["data"]["discussion"]
        bodies += [t["comments"][0]["body"] for t in found["threads"]]
        pages += 1
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert (pages, found["openThreads"]) == (5, 2005)
    assert bodies == [f"thread {number}" for number in range(2005)]
    too_many = hub_server.graphql(
        "query($id: ID!) { discussion(kind: RUN, id: $id, first: 501) { __typename "
        "... on Error { message } } }",
        {"id": run},
    )["data"]["discussion"]
    assert too_many["__typename"] == "ValidationError" and "1 to 500" in too_many["message"]
