"""A person's rights on a real hub, from the command line and GraphQL: the export archive, the
erasure and what refuses it, two erasures at once, a data subject erased from a dataset's
versions, and the trail verifying after."""

from __future__ import annotations

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

import hub
from hub.client.client import Client
from tests.api.test_datasets import person
from tests.conftest import LiveHub, graphql_call
from tests.test_admin_cli import ok, salon

ERASE = """mutation($name: String!) { erasePerson(name: $name) { __typename
  ... on Erasure { pseudonym } ... on Error { message } } }"""
EXPORT = """mutation($name: String!) { exportPersonalData(name: $name) { __typename
  ... on PersonalDataExport { person downloadPath counts { section count } }
  ... on Error { message } } }"""
VERIFY = "{ auditVerification { ... on AuditVerification { ok } } }"


def a_project(live: LiveHub) -> None:
    hub.init(
        project="vision", experiment="e", url=live.url, token=live.token, capture_environment=False
    ).finish()


def test_a_person_is_exported_and_erased_from_the_command_line(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    a_project(hub_server)
    bea = person(hub_server, "bea", "editor", "vision")
    run = hub.init(
        project="vision",
        experiment="e",
        name="sweep",
        url=hub_server.url,
        token=bea,
        capture_environment=False,
    )
    run.log({"loss": 0.5}, step=0)
    run.finish()

    archive = tmp_path / "bea.zip"
    said = ok(salon(hub_server, "privacy", "export", "bea", "--out", str(archive)))
    assert "Wrote everything Salon holds about bea" in said
    with zipfile.ZipFile(archive) as packed:
        manifest = json.loads(packed.read("manifest.json"))
        runs = json.loads(packed.read("runs.json"))
    assert manifest["person"] == "bea" and [r["name"] for r in runs] == ["sweep"]
    assert manifest["counts"]["audit_events"] > 0
    refused = salon(
        hub_server, "privacy", "export", "bea", "--out", str(tmp_path / "x.zip"), token=bea
    )
    assert refused.returncode == 1 and "compliance officers" in refused.stderr
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.zip.part").exists()
    missing = salon(hub_server, "privacy", "erase", "nobody", "--yes")
    assert missing.returncode == 1 and "nobody called 'nobody'" in missing.stderr

    erased = ok(salon(hub_server, "privacy", "erase", "bea", "--yes"))
    assert "Erased bea: now former-member-1" in erased
    signed_out = httpx.post(
        f"{hub_server.url}/graphql",
        json={"query": "{ me { user { name } } }"},
        headers={"Authorization": f"Bearer {bea}"},
        timeout=30,
    )
    assert signed_out.status_code == 401 or signed_out.json().get("errors"), signed_out.text
    found = graphql_call(
        hub_server.url,
        hub_server.token,
        '{ runs(project: "vision") { ... on RunConnection { nodes { name user } } } }',
    )["data"]["runs"]["nodes"]
    assert {"name": "sweep", "user": "former-member-1"} in found
    assert graphql_call(hub_server.url, hub_server.token, VERIFY)["data"]["auditVerification"]["ok"]


def test_graphql_erasure_refuses_what_it_must_and_runs_once(hub_server: LiveHub) -> None:
    a_project(hub_server)
    person(hub_server, "cal", "viewer", "vision")
    editor = person(hub_server, "eve", "editor", "vision")

    def call(query: str, name: str, token: str | None = None) -> dict[str, Any]:
        body = graphql_call(hub_server.url, token or hub_server.token, query, {"name": name})
        return dict(next(iter(body["data"].values())))

    preview = call(EXPORT, "cal")
    assert preview["__typename"] == "PersonalDataExport" and preview["person"] == "cal"
    downloaded = httpx.get(
        hub_server.url + preview["downloadPath"],
        headers={"Authorization": f"Bearer {hub_server.token}"},
        timeout=30,
    )
    assert downloaded.status_code == 200 and downloaded.content[:2] == b"PK"
    assert call(ERASE, "cal", editor)["__typename"] == "ForbiddenError"
    assert call(ERASE, "x" * 5000)["__typename"] == "NotFoundError"
    assert call(ERASE, "admin")["__typename"] == "ConflictError"  # yourself, the last admin

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: call(ERASE, "cal"), range(4)))
    won = [o for o in outcomes if o["__typename"] == "Erasure"]
    lost = [o for o in outcomes if o["__typename"] != "Erasure"]
    assert len(won) == 1 and won[0]["pseudonym"] == "former-member-1", outcomes
    for answer in lost:  # erased by another, or no longer called that
        assert answer["__typename"] in ("ConflictError", "NotFoundError"), answer
        assert "erased already" in answer["message"] or "nobody called" in answer["message"]
    assert graphql_call(hub_server.url, hub_server.token, VERIFY)["data"]["auditVerification"]["ok"]


SUBJECT = {"f": "customer_id = 'C-1042'"}
ERASE_ROWS = """mutation($f: String!) {
  eraseDatasetRows(project: "vision", dataset: "claims", filter: $f) { __typename
    ... on DatasetErasure { id state } ... on Error { message } } }"""
ERASURES = """{ dataset(project: "vision", name: "claims") {
  ... on Dataset { erasures { id state problem total versions { version rows } } } } }"""


def finished(live: LiveHub, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The erasures once the hub has carried them all out (done or failed)."""
    for _ in range(600):
        found = graphql_call(live.url, live.token, ERASURES)["data"]["dataset"]["erasures"]
        wanted = {e["id"]: e for e in found if e["id"] in ids}
        if len(wanted) == len(ids) and all(
            e["state"] in ("DONE", "FAILED") for e in wanted.values()
        ):
            return wanted
        time.sleep(0.1)
    raise AssertionError(f"erasures {ids} did not finish: {found}")


def claims(tmp_path: Path, count: int) -> Path:
    source = tmp_path / f"claims-{count}.csv"
    lines = ["customer_id,amount"] + [
        f"{'C-1042' if i % 400 == 7 else f'C-{i:05d}'},{i}" for i in range(count)
    ]
    source.write_text("\n".join(lines) + "\n")
    return source


def test_a_data_subject_is_erased_from_every_version_of_a_dataset(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    client = Client(hub_server.url, hub_server.token)
    client.upload_dataset("vision", "claims", claims(tmp_path, 2000))
    client.upload_dataset("vision", "claims", claims(tmp_path, 3000))

    bad = salon(
        hub_server, "dataset", "erase-rows", "vision", "claims", "--where", "amount <", "--yes"
    )
    assert bad.returncode == 1 and "filter" in bad.stderr.lower()
    nothing = salon(
        hub_server, "dataset", "erase-rows", "vision", "claims", "--where", "amount < 0", "--yes"
    )
    assert nothing.returncode == 1 and "matches no row in any version" in nothing.stderr

    with ThreadPoolExecutor(2) as pool:  # two maintainers erase the same subject at once
        outcomes = list(
            pool.map(
                lambda _: dict(
                    graphql_call(hub_server.url, hub_server.token, ERASE_ROWS, SUBJECT)["data"][
                        "eraseDatasetRows"
                    ]
                ),
                range(2),
            )
        )
    assert [o.get("state") for o in outcomes] == ["QUEUED", "QUEUED"], outcomes
    results = finished(hub_server, [o["id"] for o in outcomes])
    done = [e for e in results.values() if e["state"] == "DONE"]
    assert len(done) == 1, results  # one at a time: the second finds nothing left
    assert done[0]["versions"] == [{"version": 1, "rows": 5}, {"version": 2, "rows": 8}]
    other = next(e for e in results.values() if e is not done[0])
    assert other["state"] == "FAILED" and "matches no row" in other["problem"]

    again = salon(
        hub_server,
        "dataset",
        "erase-rows",
        "vision",
        "claims",
        "--where",
        "customer_id = 'C-00010'",
        "--yes",
    )
    assert "Erased 2 rows from vision/claims (v1: 1, v2: 1)" in ok(again)
    shown = graphql_call(
        hub_server.url,
        hub_server.token,
        '{ dataset(project: "vision", name: "claims") { erasures { filter total requestedBy } '
        "versions { number rowCount } } }",
    )["data"]["dataset"]
    assert [e["total"] for e in shown["erasures"]] == [2, 0, 13]
    assert [v["rowCount"] for v in shown["versions"]] == [2991, 1994]
    assert graphql_call(hub_server.url, hub_server.token, VERIFY)["data"]["auditVerification"]["ok"]
