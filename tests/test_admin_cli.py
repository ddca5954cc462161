"""`salon user|group|grant|token|audit`, run as an admin runs them, against a live hub."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import hub
from tests.conftest import LiveHub, graphql_call
from tests.test_cli import SALON, salon_env


def salon(
    hub: LiveHub, *args: str, stdin: str = "", token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = salon_env(hub.settings.data_dir, SALON_URL=hub.url, SALON_TOKEN=token or hub.token)
    return subprocess.run(
        [*SALON, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_admin_sets_up_a_person_with_a_narrow_token(hub_server: LiveHub, tmp_path: Path) -> None:
    hub_server.graphql(
        'mutation { createRun(input: {project: "vision", experiment: "e"}) { __typename } }'
    )
    hub_server.graphql(
        'mutation { createRun(input: {project: "finance", experiment: "e"}) { __typename } }'
    )
    assert "Added ada" in ok(
        salon(
            hub_server,
            "user",
            "add",
            "ada",
            "--display-name",
            "Ada L",
            "--password-stdin",
            stdin="correct-horse-battery\n",
        )
    )
    assert "already" in salon(hub_server, "user", "add", "ada", "--no-password").stderr
    ok(salon(hub_server, "group", "add", "vision-team", "--description", "Vision people"))
    ok(salon(hub_server, "group", "add-member", "vision-team", "ada"))
    assert "vision-team is viewer on vision" in ok(
        salon(hub_server, "grant", "vision", "viewer", "--group", "vision-team")
    )
    bad_role = salon(hub_server, "grant", "vision", "owner", "--user", "ada")
    assert bad_role.returncode == 1 and "is not one of viewer" in bad_role.stderr
    assert "ada" in ok(salon(hub_server, "user", "list"))

    # An admin token can make tokens only for the admin; ada makes her own through the API.
    secret = ok(
        salon(
            hub_server,
            "token",
            "create",
            "ci",
            "--project",
            "vision",
            "--read-only",
            "--expires",
            "7d",
        )
    ).strip()
    assert secret.startswith("salon_")
    seen = graphql_call(hub_server.url, secret, "{ projects { name } }")["data"]["projects"]
    assert [p["name"] for p in seen] == ["vision"]
    listed = ok(salon(hub_server, "token", "list"))
    token_id = next(line.split()[0] for line in listed.splitlines() if " ci " in line)
    assert "read-only" in listed
    ok(salon(hub_server, "token", "revoke", token_id))
    assert (
        httpx.post(
            f"{hub_server.url}/graphql",
            json={"query": "{ version }"},
            headers={"Authorization": f"Bearer {secret}"},
        ).status_code
        == 401
    )
    bad = salon(hub_server, "token", "create", "x", "--expires", "forever")
    assert bad.returncode == 2 and "30d" in bad.stderr


def test_audit_verify_and_export(hub_server: LiveHub, tmp_path: Path) -> None:
    hub_server.graphql(
        'mutation { createRun(input: {project: "p", experiment: "e"}) { __typename } }'
    )
    hub_server.graphql("{ projects { name } }")
    assert "The audit trail is intact" in ok(salon(hub_server, "audit", "verify"))
    report = json.loads(ok(salon(hub_server, "audit", "verify", "--json")))
    assert report["ok"] is True and report["checked"] >= 2 and report["problem"] is None
    csv_file, parquet_file = tmp_path / "audit.csv", tmp_path / "audit.parquet"
    ok(salon(hub_server, "audit", "export", "--out", str(csv_file)))
    lines = csv_file.read_text().splitlines()
    assert lines[0].startswith('"seq","occurred_at","actor_id"')
    assert any('"run.create"' in line for line in lines)
    ok(salon(hub_server, "audit", "export", "--out", str(parquet_file), "--outcome", "allow"))
    table = pq.read_table(parquet_file)
    assert table.num_rows >= 3 and set(table.column("outcome").to_pylist()) == {"allow"}


def test_a_dataset_goes_up_with_a_progress_bar_and_comes_back(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    source = tmp_path / "sensor readings.csv"
    source.write_text("sensor,reading\n" + "".join(f"s{i % 7},{i * 0.5}\n" for i in range(3000)))
    said = ok(
        salon(hub_server, "dataset", "upload", "plant", "readings", str(source), "-m", "first")
    )
    assert "plant/readings version 1: 3,000 rows." in said
    again = ok(salon(hub_server, "dataset", "upload", "plant", "readings", str(source)))
    assert "Same content as version 1" in again
    listed = ok(salon(hub_server, "dataset", "list", "plant"))
    assert "readings" in listed and "3,000 rows" in listed and "first" in listed
    out = tmp_path / "back.parquet"
    ok(salon(hub_server, "dataset", "download", "plant", "readings", "--out", str(out)))
    assert pq.read_table(out).num_rows == 3000
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 not really")
    failed = salon(hub_server, "dataset", "upload", "plant", "readings", str(bad))
    assert failed.returncode == 1 and "could not be read as PARQUET" in failed.stderr


def test_notebooks_and_digests_from_the_command_line(hub_server: LiveHub, tmp_path: Path) -> None:
    from tests.api.test_pages import notebook

    run = hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    path = tmp_path / "drift.ipynb"
    path.write_text(notebook())
    said = ok(salon(hub_server, "notebook", "attach", "vision", str(path), "--run", run.id))
    assert "Shared 'Why line C drifts' as vision/drift, version 1." in said
    again = ok(salon(hub_server, "notebook", "attach", "vision", str(path), "-m", "rerun"))
    assert "version 2" in again
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{}")
    refused = salon(hub_server, "notebook", "attach", "vision", str(bad))
    assert refused.returncode != 0 and "not a Jupyter notebook" in refused.stderr
    assert ok(salon(hub_server, "digest", "send", "--force")).startswith("Sent 0 digest(s)")
    run.finish()


def test_share_links_are_listed_and_revoked_from_the_command_line(hub_server: LiveHub) -> None:
    run = hub.init(
        project="vision",
        experiment="e",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    run.log({"loss": 1.0}, step=1)
    run.finish()
    made = hub_server.graphql(
        'mutation($r: ID!) { createShareLink(input: {view: METRIC_CHART, project: "vision", '
        'title: "Loss for the wiki", runIds: [$r], metrics: ["loss"]}) '
        "{ ... on NewShareLink { link { id } } } }",
        {"r": run.id},
    )["data"]["createShareLink"]["link"]["id"]
    listed = ok(salon(hub_server, "share", "list", "vision"))
    assert made in listed and "active" in listed and "Loss for the wiki" in listed
    assert ok(salon(hub_server, "share", "revoke", made)).strip() == f"Revoked {made}."
    assert "revoked" in ok(salon(hub_server, "share", "list", "vision"))
    unknown = salon(hub_server, "share", "list", "no-such-project")
    assert unknown.returncode != 0 and "No project" in unknown.stderr
    again = salon(hub_server, "share", "revoke", "no-such-link")
    assert again.returncode != 0 and "No share link" in again.stderr


FORMULAS = ["=cmd|' /C calc'!A0", "@SUM(1)", '=HYPERLINK("http://x.test","y")', "+1", "\tx"]


def test_csv_downloads_do_not_carry_formulas(hub_server: LiveHub, tmp_path: Path) -> None:
    """Text cells a spreadsheet would run are defused with a leading quote (OWASP); numbers,
    negative ones included, stay numbers."""
    source = tmp_path / "notes.csv"
    rows = "".join(
        f'"{text.replace(chr(34), chr(34) * 2)}",{-n}\n'
        for n, text in enumerate([*FORMULAS, "plain"])
    )
    source.write_text("note,delta\n" + rows)
    ok(salon(hub_server, "dataset", "upload", "plant", "notes", str(source)))
    out = tmp_path / "back.csv"
    ok(salon(hub_server, "dataset", "download", "plant", "notes", "--out", str(out)))
    back = pl.read_csv(out)
    assert back["note"].to_list() == [f"'{text}" for text in FORMULAS] + ["plain"]
    assert back["delta"].to_list() == [0, -1, -2, -3, -4, -5]


def test_every_csv_writer_defuses_formula_cells() -> None:
    from dashboard.tables import csv_bytes
    from hub.client.cells import defused

    table = pa.table({"who": [*FORMULAS, "-", "ok"], "hours": [1.5, -2.0, 0, 1, 2, 3, 4]})
    assert defused(table).column("who").to_pylist() == [f"'{t}" for t in FORMULAS] + ["'-", "ok"]
    assert defused(table).column("hours") == table.column("hours")
    written = csv_bytes(table.to_pandas()).decode()
    assert "\n'=cmd|' /C calc'!A0" in written and "\n'@SUM(1)" in written
    assert "\nok,4" in written and ",-2.0\n" in written


def test_list_commands_speak_json_for_scripts(hub_server: LiveHub) -> None:
    """--json prints the hub's answer as one JSON document, the same rows as the table."""
    import json

    import polars as pl

    import hub

    hub.Client(hub_server.url, hub_server.token).upload_dataset(
        "vision", "parts", pl.DataFrame({"part": [1, 2, 3]})
    )
    users = json.loads(ok(salon(hub_server, "user", "list", "--json")))
    assert {"name", "displayName", "isAdmin", "disabled"} <= set(users[0])
    datasets = json.loads(ok(salon(hub_server, "dataset", "list", "vision", "--json")))
    assert [(d["name"], d["versions"][0]["rowCount"]) for d in datasets] == [("parts", 3)]
    assert json.loads(ok(salon(hub_server, "share", "list", "vision", "--json"))) == []
    tokens = json.loads(ok(salon(hub_server, "token", "list", "--json")))
    assert tokens and {"id", "name", "canWrite"} <= set(tokens[0])
    assert json.loads(ok(salon(hub_server, "group", "list", "--json"))) == []
    status = subprocess.run(
        [*SALON, "db", "status", "--json"],
        env=salon_env(hub_server.settings.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The hub holds the file: one line saying so, not a traceback.
    assert status.returncode == 1 and len(status.stderr.strip().splitlines()) == 1
