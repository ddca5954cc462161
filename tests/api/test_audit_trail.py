"""Audit completeness: a scripted mix of reads, changes, denials and errors through the API
leaves exactly the expected events, in order, with who, how and from where."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow as pa

from hub.domain.audit import AuditQuery
from hub.services.identity import accounts, tokens
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.inprocess import InProcessHub, in_process_hub

RUN = "{ __typename ... on Run { id } ... on Error { message } }"


def token_of(hub: InProcessHub, name: str, **flags: bool) -> tuple[str, str]:
    user = asyncio.run(accounts.create_user(hub.store, SYSTEM, name, None, **flags))  # a token
    principal = asyncio.run(
        tokens.principal_for_user(hub.store, user, auth_method="session", auth_id=None)
    )
    return user.id, asyncio.run(tokens.create_token(hub.store, principal, "t"))[1]


def call(hub: InProcessHub, token: str, query: str, **variables: object) -> dict[str, object]:
    response = hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


def test_a_mix_of_operations_leaves_exactly_the_expected_events(tmp_path: Path) -> None:
    for hub in in_process_hub(tmp_path, demo=False):
        editor_id, editor = token_of(hub, "eddie")
        viewer_id, viewer = token_of(hub, "vera")
        outsider_id, outsider = token_of(hub, "otto")
        officer_id, officer = token_of(hub, "olga", is_compliance=True)
        start = hub.store.audit.head[0]

        made = call(
            hub,
            editor,
            f'mutation {{ createRun(input: {{project: "alpha", experiment: "e", params: [{{key: "lr", value: "0.1"}}]}}) {RUN} }}',
        )
        run_id = made["createRun"]["id"]  # type: ignore[index]
        asyncio.run(access.grant_role(hub.store, SYSTEM, "alpha", "user", "vera", "viewer"))
        call(
            hub,
            viewer,
            '{ runs(project: "alpha") { __typename ... on RunConnection { nodes { id params { key } } } } }',
        )
        call(hub, viewer, "query($id: ID!) { run(id: $id) { name } }", id=run_id)
        call(hub, outsider, "query($id: ID!) { run(id: $id) { name } }", id=run_id)
        call(
            hub,
            viewer,
            f'mutation($id: ID!) {{ setRunNotes(runId: $id, notes: "hi") {RUN} }}',
            id=run_id,
        )
        call(
            hub,
            editor,
            f'mutation($id: ID!) {{ logParams(runId: $id, params: [{{key: "lr", value: "0.2"}}]) {RUN} }}',
            id=run_id,
        )
        sink = pa.BufferOutputStream()
        table = pa.table(
            {"key": ["loss"] * 3, "step": [0, 1, 2], "ts": [1, 2, 3], "value": [1.0, 0.8, 0.7]}
        )
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        stored = hub.http.post(
            f"/api/v1/runs/{run_id}/metrics",
            params={"batch_id": "b1"},
            content=sink.getvalue().to_pybytes(),
            headers={"Authorization": f"Bearer {editor}"},
        )
        assert stored.status_code == 200, stored.text
        call(hub, outsider, "{ auditEvents(first: 5) { __typename } }")
        call(hub, officer, "{ auditEvents(first: 5) { __typename } }")

        events = asyncio.run(hub.store.audit.search(AuditQuery(), 1000))
        got = [
            (e.actor_id, e.auth_method, e.action, e.object_kind, e.outcome, e.row_count)
            for e in reversed(events)
            if e.seq > start
        ]
        expected = [
            (editor_id, "token", "project.create", "project", "allow", 1),
            (editor_id, "token", "experiment.create", "experiment", "allow", None),
            (editor_id, "token", "run.create", "run", "allow", 1),
            ("system", "system", "membership.grant", "user", "allow", 1),
            (viewer_id, "token", "runs.search", "project", "allow", 1),
            (viewer_id, "token", "run.read", "run", "allow", 1),
            (outsider_id, "token", "run.read", "run", "deny", None),
            (viewer_id, "token", "run.set_notes", "run", "deny", None),
            (editor_id, "token", "run.log_params", "run", "error", 1),
            (editor_id, "token", "metrics.ingest", "run", "allow", 3),
            (outsider_id, "token", "audit.read", "audit", "deny", None),
            (officer_id, "token", "audit.read", "audit", "allow", 5),
        ]
        assert got == expected
        mine = [e for e in events if e.seq > start and e.actor_id != "system"]
        assert all(e.address == "testclient" and e.auth_id for e in mine), "who and from where"
        assert all(e.project_id for e in mine if e.object_kind in ("run", "experiment"))
        report = hub.store.audit.verify_sync()
        assert report.ok and report.head_seq == hub.store.audit.head[0]
