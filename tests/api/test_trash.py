"""The trash on a real hub: from Python, GraphQL and the command line; a share link to a
trashed run stops showing it; bad, unauthorized and concurrent requests; legal holds; garbage
collection."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import hub
from hub.client.client import Client
from hub.client.errors import HubError
from tests.api.test_datasets import person
from tests.api.test_share_links import create as create_link
from tests.api.test_share_links import look, secret_of
from tests.conftest import LiveHub, graphql_call
from tests.test_admin_cli import ok, salon

MOVE = """mutation($kind: TrashKind!, $id: ID!) { moveToTrash(kind: $kind, id: $id) {
  __typename ... on TrashEntry { id label holds { kind count } } ... on Error { message } } }"""
PURGE = """mutation($id: ID!) { purgeFromTrash(entryId: $id) {
  __typename ... on Purge { points files } ... on Error { message } } }"""
RESTORE = """mutation($id: ID!) { restoreFromTrash(entryId: $id) {
  __typename ... on TrashEntry { id } ... on Error { message } } }"""
RUNS = (
    """query { runs(project: "vision", first: 50) { ... on RunConnection { nodes { name } } } }"""
)


def a_run(live: LiveHub, name: str, steps: int = 20) -> str:
    run = hub.init(
        project="vision",
        experiment="detector",
        name=name,
        url=live.url,
        token=live.token,
        capture_environment=False,
    )
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.finish()
    return run.id


def run_names(live: LiveHub, token: str) -> list[str]:
    found = graphql_call(live.url, token, RUNS)["data"]["runs"]["nodes"]
    return sorted(node["name"] for node in found)


def test_a_run_trashed_from_python_leaves_search_and_its_share_link_until_restored(
    hub_server: LiveHub,
) -> None:
    kept, gone = a_run(hub_server, "kept"), a_run(hub_server, "mistake")
    link = create_link(
        hub_server,
        hub_server.token,
        project="vision",
        view="METRIC_CHART",
        title="Loss of the mistake",
        runIds=[gone],
        metrics=["loss"],
    )
    secret = secret_of(link)
    assert look(hub_server, secret).status_code == 200

    client = Client(hub_server.url, hub_server.token)
    entry = client.trash.move("run", gone)
    assert entry["label"] == "mistake" and entry["holds"] == [{"kind": "RUN", "count": 1}]
    assert run_names(hub_server, hub_server.token) == ["kept"]
    shown = look(hub_server, secret)
    assert shown.status_code == 410 and "mistake" not in shown.text, shown.text
    assert shown.json()["error"] == "link_orphaned"
    assert [e["id"] for e in client.trash.entries("vision")] == [entry["id"]]
    with pytest.raises(HubError, match="already in the trash"):
        client.trash.move("run", gone)

    client.trash.restore(entry["id"])
    assert run_names(hub_server, hub_server.token) == ["kept", "mistake"]
    assert look(hub_server, secret).status_code == 200
    history = client.metrics([gone])
    assert history.height == 20 and kept
    assert client.trash.entries() == []


def test_bad_unauthorized_and_concurrent_requests_get_clear_answers(hub_server: LiveHub) -> None:
    run_id = a_run(hub_server, "contested")
    admin = hub_server.token

    def call(query: str, variables: dict[str, Any], token: str = admin) -> dict[str, Any]:
        body = graphql_call(hub_server.url, token, query, variables)
        return dict(next(iter(body["data"].values())))

    refused = httpx.post(
        f"{hub_server.url}/graphql",
        json={"query": MOVE, "variables": {"kind": "COMMENT", "id": run_id}},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    ).json()
    assert "COMMENT" in refused["errors"][0]["message"]  # not a kind that can be trashed
    missing = call(MOVE, {"kind": "RUN", "id": "x" * 5000})
    assert missing["__typename"] == "NotFoundError", missing
    viewer = person(hub_server, "vera", "viewer", "vision")
    forbidden = call(MOVE, {"kind": "RUN", "id": run_id}, viewer)
    assert forbidden["__typename"] == "ForbiddenError"
    assert "needs maintainer" in forbidden["message"]
    outsider = person(hub_server, "otto", None)
    hidden = call(MOVE, {"kind": "RUN", "id": run_id}, outsider)
    assert hidden["__typename"] == "NotFoundError"
    anonymous = httpx.post(
        f"{hub_server.url}/graphql",
        json={"query": MOVE, "variables": {"kind": "RUN", "id": run_id}},
        timeout=30,
    )
    assert anonymous.status_code == 401 or anonymous.json().get("errors"), anonymous.text
    assert run_names(hub_server, admin) == ["contested"], "a refused request changed something"

    with ThreadPoolExecutor(8) as pool:  # eight people trash the same run at once
        moved = list(pool.map(lambda _: call(MOVE, {"kind": "RUN", "id": run_id}), range(8)))
    made = [m for m in moved if m["__typename"] == "TrashEntry"]
    assert len(made) == 1, moved
    assert {m["__typename"] for m in moved if m not in made} == {"ConflictError"}
    entry_id = made[0]["id"]

    viewer_purge = call(PURGE, {"id": entry_id}, viewer)
    assert viewer_purge["__typename"] == "ForbiddenError", viewer_purge
    with ThreadPoolExecutor(2) as pool:  # two maintainers purge at once
        purged = list(pool.map(lambda _: call(PURGE, {"id": entry_id}), range(2)))
    assert sorted(p["__typename"] for p in purged) == ["NotFoundError", "Purge"], purged
    assert next(p for p in purged if p["__typename"] == "Purge")["points"] == 20
    again = call(RESTORE, {"id": entry_id})
    assert again["__typename"] == "NotFoundError" and "restored or purged" in again["message"]
    verified = graphql_call(
        hub_server.url, admin, "{ auditVerification { ... on AuditVerification { ok } } }"
    )
    assert verified["data"]["auditVerification"]["ok"]


def test_the_command_line_lists_moves_purges_and_collects_garbage(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    source = tmp_path / "claims.csv"
    source.write_text("customer_id,amount\n" + "".join(f"C-{i},{i}\n" for i in range(2000)))
    client = Client(hub_server.url, hub_server.token)
    client.upload_dataset("vision", "claims", source)
    dataset_id = graphql_call(
        hub_server.url, hub_server.token, '{ dataset(project: "vision", name: "claims") { id } }'
    )["data"]["dataset"]["id"]

    policy = ok(
        salon(hub_server, "retention", "set", "vision", "--runs-days", "30", "--versions-kept", "1")
    )
    assert "vision keeps finished runs for 30 days unless tagged 'keep'" in policy
    assert "the newest 1 versions of each dataset" in policy
    assert "and every audit event" in policy
    assert "Next to the trash: nothing." in ok(salon(hub_server, "retention", "show", "vision"))
    years = ok(salon(hub_server, "retention", "set", "vision", "--audit-years", "7"))
    assert "audit events for 7 years" in years and "Audit events emptied next: 0" in years
    bad = salon(hub_server, "retention", "set", "vision", "--runs-days", "0")
    assert bad.returncode == 1 and "1 to 36500 days" in bad.stderr
    bad = salon(hub_server, "retention", "set", "vision", "--audit-years", "101")
    assert bad.returncode == 1 and "1 to 100 years" in bad.stderr

    said = ok(salon(hub_server, "trash", "move", "dataset", dataset_id))
    assert "Moved dataset claims to the trash (1 dataset, 1 dataset version)" in said
    entry_id = said.rsplit("entry ", 1)[1].strip(" .\n")
    listed = ok(salon(hub_server, "trash", "list"))
    assert entry_id in listed and "claims" in listed and "by tests" not in listed

    # A file an upload cut off left in the object store (named by nobody), and the dataset's
    # own, both stored an hour ago (a purge leaves files stored in the last minutes).
    objects = hub_server.settings.data_dir / "objects"
    orphan = objects / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x" * 4096)
    old = time.time() - 3600
    for stored in objects.glob("*/*"):
        os.utime(stored, (old, old))

    dry = ok(salon(hub_server, "gc", "--dry-run"))
    assert "Would remove 0 trash entries" in dry and "1 files nothing refers to (4.1 KB)" in dry
    assert orphan.exists(), "a dry run removed a file"

    refused = salon(
        hub_server,
        "trash",
        "purge",
        entry_id,
        "--yes",
        token=person(hub_server, "eddie", "editor", "vision"),
    )
    assert refused.returncode == 1 and "needs maintainer" in refused.stderr
    placed = ok(
        salon(
            hub_server,
            "hold",
            "place",
            "dataset",
            "claims",
            "--project",
            "vision",
            "--reason",
            "subject request 7",
        )
    )
    hold_id = placed.rsplit(": ", 1)[1].strip(" .\n")
    held = salon(hub_server, "trash", "purge", entry_id, "--yes")
    assert held.returncode == 1 and "legal hold on dataset vision/claims" in held.stderr
    assert "subject request 7" in ok(salon(hub_server, "hold", "list"))
    ok(salon(hub_server, "hold", "release", hold_id))
    purged = ok(salon(hub_server, "trash", "purge", entry_id, "--yes"))
    assert "Purged claims: 1 dataset, 1 dataset version, 0 metric points, 1 files" in purged
    assert not any(objects.glob("*/*.parquet")), "the purged version's file is still stored"

    done = ok(salon(hub_server, "gc"))
    assert "Removed 0 trash entries" in done and "1 files nothing refers to" in done
    assert not orphan.exists()
    editor = person(hub_server, "erin", "editor", "vision")
    denied = salon(hub_server, "gc", token=editor)
    assert denied.returncode == 1 and "Only a site admin" in denied.stderr


def test_a_purge_during_a_backup_says_its_files_wait_for_it(tmp_path: Path) -> None:
    """Through GraphQL (an in-process hub, deletions held as a backup holds them): the purge is
    answered at once and says its files wait for the backup; once it ends nothing waits, and a
    collection says so. (The purge's file was stored a moment ago, which keeps it from this
    purge either way: tests/services/test_backups.py sees files deleted.)"""
    import asyncio

    import polars as pl

    from hub.services.data import dataset_uploads, datasets
    from hub.services.lifecycle import trash
    from hub.services.policy.principal import SYSTEM
    from tests.inprocess import InProcessHub, in_process_hub

    waits = """mutation($id: ID!) { purgeFromTrash(entryId: $id) {
      __typename ... on Purge { files filesWaitForBackup } ... on Error { message } } }"""
    collect = """mutation { collectGarbage(dryRun: false) {
      __typename ... on Garbage { orphanFiles filesWaitForBackup } ... on Error { message } } }"""

    async def purge_while_held(api: InProcessHub, entry_id: str) -> tuple[dict[str, Any], int]:
        async with api.store.deletions.held():
            answer = await asyncio.to_thread(api.graphql, waits, {"id": entry_id})
            return answer, api.store.deletions.put_off

    for api in in_process_hub(tmp_path / "hub", demo=False):
        source = tmp_path / "inspections.parquet"
        parts = {"part": range(3000), "ok": [i % 7 != 0 for i in range(3000)]}
        pl.DataFrame(parts).write_parquet(source)
        made = dataset_uploads.upload(
            api.store, api.settings, SYSTEM, "quality", "inspections", source, source.name
        )
        asyncio.run(made)
        found = asyncio.run(datasets.find(api.store, SYSTEM, "quality", "inspections"))
        entry = asyncio.run(trash.move_to_trash(api.store, SYSTEM, "dataset", found.dataset.id))

        answer, waiting = asyncio.run(purge_while_held(api, entry.id))
        purged = answer["data"]["purgeFromTrash"]
        assert purged == {"__typename": "Purge", "files": 1, "filesWaitForBackup": True}
        assert waiting == 1 and api.store.deletions.put_off == 0
        collected = api.graphql(collect)["data"]["collectGarbage"]
        assert collected == {"__typename": "Garbage", "orphanFiles": 0, "filesWaitForBackup": False}
