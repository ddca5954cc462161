"""Datasets end to end: uploads through the HTTP endpoint and the Python client, versions,
profiles, previews, downloads, access, PII masking and bad files."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import time
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest

import hub
from hub.domain.audit import AuditQuery
from hub.errors import InvalidInput
from hub.services.data import dataset_uploads
from hub.services.identity import accounts, tokens
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from tests.conftest import LiveHub, graphql_call


def inspections(rows: int = 5000, seed: int = 3) -> pl.DataFrame:
    """A few thousand rows of what a quality team records about parts off the line."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "part_id": np.arange(rows),
            "line": rng.choice(["A", "B", "C"], rows),
            "temperature_c": np.round(rng.normal(41.5, 3.2, rows), 2),
            "defect": rng.choice(["none", "none", "none", "scratch", "dent"], rows),
            "inspector_email": [f"inspector{i % 17}@plant.example" for i in range(rows)],
        }
    )


def person(hub_server: LiveHub, name: str, role: str | None, project: str = "quality") -> str:
    store = hub_server.store
    user = asyncio.run(accounts.create_user(store, SYSTEM, name, None))  # a token, no password
    if role:
        asyncio.run(access.grant_role(store, SYSTEM, project, "user", name, role))
    principal = asyncio.run(
        tokens.principal_for_user(store, user, auth_method="session", auth_id=None)
    )
    return asyncio.run(tokens.create_token(store, principal, "t"))[1]


DATASET = """query($p: String!, $n: String!) { dataset(project: $p, name: $n) {
  name versions { number rowCount author source }
  version { number columns { name type pii profile }
            rows(limit: 3, orderBy: ["temperature_c desc"]) { ... on DatasetRows { columns rows total masked } } } } }"""


def test_versions_profiles_previews_and_downloads(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    frame = inspections()
    first = client.upload_dataset("quality", "inspections", frame, message="first week")
    assert (first["version"], first["rows"], first["created"]) == (1, 5000, True)
    again = client.upload_dataset("quality", "inspections", frame, message="same again")
    assert (again["version"], again["created"]) == (1, False), (
        "identical content is not stored twice"
    )
    changed = frame.with_columns(pl.col("temperature_c") + 0.5)
    second = client.upload_dataset("quality", "inspections", changed, message="recalibrated")
    assert (second["version"], second["created"]) == (2, True)

    body = hub_server.graphql(DATASET, {"p": "quality", "n": "inspections"})["data"]["dataset"]
    assert [v["number"] for v in body["versions"]] == [2, 1]
    latest = body["version"]
    columns = {c["name"]: c for c in latest["columns"]}
    assert columns["part_id"]["type"] == "BIGINT" and columns["line"]["type"] == "VARCHAR"
    temp = columns["temperature_c"]["profile"]
    assert temp["nulls"] == 0 and abs(temp["mean"] - (frame["temperature_c"].mean() + 0.5)) < 1e-6
    assert sum(temp["histogram"]["counts"]) == 5000
    assert {t["value"] for t in columns["line"]["profile"]["top"]} == {"A", "B", "C"}
    rows = latest["rows"]
    assert rows["total"] == 5000 and len(rows["rows"]) == 3
    index = rows["columns"].index("temperature_c")
    top3 = sorted((changed["temperature_c"]).to_list(), reverse=True)[:3]
    assert [r[index] for r in rows["rows"]] == pytest.approx(top3)

    back = client.dataset("quality", "inspections", version=1)
    assert back.equals(frame)
    lazy = client.dataset("quality", "inspections", version=1, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    hot = lazy.filter(pl.col("temperature_c") > 45).collect()
    assert hot.equals(frame.filter(pl.col("temperature_c") > 45))
    assert client.dataset("quality", "inspections")["temperature_c"].sum() == pytest.approx(
        changed["temperature_c"].sum()
    )


def test_a_csv_file_streams_in_from_disk(hub_server: LiveHub, tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    inspections(3000).write_csv(path)
    client = hub.Client(hub_server.url, hub_server.token)
    made = client.upload_dataset("quality", "readings", path, message="from the line PLC")
    assert made["rows"] == 3000
    versions = hub_server.graphql(DATASET, {"p": "quality", "n": "readings"})["data"]["dataset"]
    assert versions["versions"][0]["source"] == "readings.csv"


def test_readings_with_nan_and_infinities_are_stored_and_profiled(
    hub_server: LiveHub, tmp_path: Path
) -> None:
    """A sensor's CSV with "nan" and "inf" among its readings (DuckDB reads them as numbers) was
    refused by the profile; now it is stored whole, and its mean, spread, quartiles and
    histogram cover the finite readings."""
    frame = inspections(3000)
    readings = frame["temperature_c"].to_numpy().copy()
    text = [str(value) for value in readings]
    text[10], text[20], text[30] = "nan", "inf", "-inf"
    path = tmp_path / "sensor.csv"
    frame.with_columns(pl.Series("temperature_c", text)).write_csv(path)
    client = hub.Client(hub_server.url, hub_server.token)
    assert client.upload_dataset("quality", "sensor", path)["rows"] == 3000

    body = hub_server.graphql(DATASET, {"p": "quality", "n": "sensor"})["data"]["dataset"]
    columns = {c["name"]: c for c in body["version"]["columns"]}
    assert columns["temperature_c"]["type"] == "DOUBLE"
    profile = columns["temperature_c"]["profile"]
    finite = np.delete(readings, [10, 20, 30])
    assert profile["nulls"] == 0 and profile["max"] == "nan"
    assert profile["mean"] == pytest.approx(float(finite.mean()))
    assert profile["std"] == pytest.approx(float(finite.std(ddof=1)))
    assert profile["quantiles"] == pytest.approx(np.quantile(finite, [0.25, 0.5, 0.75]))
    assert sum(profile["histogram"]["counts"]) == 2997
    assert client.dataset("quality", "sensor")["temperature_c"].is_nan().sum() == 1


def test_a_parquet_upload_is_stored_as_it_came(hub_server: LiveHub, tmp_path: Path) -> None:
    """Parquet the hub reads well is profiled and stored byte for byte, not written again."""
    path = tmp_path / "readings.parquet"
    frame = inspections(3000)
    frame.write_parquet(path, compression="snappy")
    client = hub.Client(hub_server.url, hub_server.token)
    made = client.upload_dataset("quality", "as-it-came", path, message="from the historian")
    assert (made["rows"], made["bytes"]) == (3000, path.stat().st_size)
    assert hub_server.store.objects.exists(hashlib.sha256(path.read_bytes()).hexdigest())
    assert client.dataset("quality", "as-it-came").equals(frame)
    body = hub_server.graphql(DATASET, {"p": "quality", "n": "as-it-came"})["data"]["dataset"]
    profile = {c["name"]: c["profile"] for c in body["version"]["columns"]}
    assert sum(profile["temperature_c"]["histogram"]["counts"]) == 3000
    assert "sample_rows" not in profile["temperature_c"], "a small version: every row counted"
    assert not list((hub_server.settings.data_dir / "tmp").glob("*")), "no scratch left"


def test_a_file_handed_over_is_moved_into_the_store_and_others_are_copied(
    tmp_path: Path,
) -> None:
    from hub.settings import Settings
    from hub.store import open_store

    settings = Settings(data_dir=tmp_path / "hub")
    store = open_store(settings.database_path)
    try:
        for name, hand_over in (("kept", False), ("given", True)):
            source = tmp_path / f"{name}.parquet"
            inspections(500, seed=len(name)).write_parquet(source)
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
            asyncio.run(
                dataset_uploads.upload(
                    store,
                    settings,
                    SYSTEM,
                    "quality",
                    name,
                    source,
                    source.name,
                    hand_over=hand_over,
                )
            )
            assert store.objects.exists(digest), "stored byte for byte"
            assert source.exists() is not hand_over, "a file not handed over stays the caller's"
            if not hand_over:
                assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
        assert not list((settings.data_dir / "tmp").glob("*")), "no scratch left"
    finally:
        store.close()


def _wide_parquet(columns: int) -> bytes:
    out = io.BytesIO()
    pl.DataFrame({f"c{i}": [1] for i in range(columns)}).write_parquet(out)
    return out.getvalue()


WIDE_PARQUET = _wide_parquet(3000)


@pytest.mark.parametrize(
    ("filename", "content", "status", "words"),
    [
        ("broken.parquet", b"PAR1 this is not parquet", 400, "could not be read as PARQUET"),
        ("latin1.csv", "name,city\nJosé,Zürich\n".encode("latin-1"), 400, "not UTF-8"),
        ("notes.txt", b"hello", 400, "Upload a .csv or .parquet"),
        (
            "wide.csv",
            (",".join(f"c{i}" for i in range(2500)) + "\n" + ",".join("1" * 2500)).encode(),
            400,
            "at most 2000 are accepted",
        ),
        ("dupes.csv", b"a,a\n1,2\n", 400, "same name"),
        ("open-quote.csv", b'name,score\nalice,1\nbob,"2\ncarol,3\n', 400, "never closed"),
        # Sniffing 20,000 columns needed more memory than the reader has: the header says it.
        (
            "very-wide.csv",
            (",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("1" * 20_000)).encode(),
            400,
            "The file has 20000 columns",
        ),
        ("wide.parquet", WIDE_PARQUET, 400, "The file has 3000 columns"),
    ],
    ids=[
        "corrupt-parquet",
        "wrong-encoding",
        "unknown-format",
        "too-many-columns",
        "duplicate-columns",
        "unclosed-quote",
        "very-wide-csv",
        "wide-parquet",
    ],
)
def test_bad_files_get_a_clear_4xx_and_leave_nothing_behind(
    hub_server: LiveHub, filename: str, content: bytes, status: int, words: str
) -> None:
    response = hub_server_post(hub_server, "quality", "broken", filename, content)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert hub_server.graphql(DATASET, {"p": "quality", "n": "broken"})["data"]["dataset"] in (
        None,
        {"name": "broken", "versions": [], "version": None},
    )
    data_dir = hub_server.settings.data_dir
    assert not list((data_dir / "tmp").glob("*")), "no scratch files left"
    assert not list((data_dir / "objects").rglob("*.part")), "no half-written objects"


def hub_server_post(
    hub_server: LiveHub, project: str, name: str, filename: str, content: bytes
) -> httpx.Response:
    return httpx.post(
        f"{hub_server.url}/api/v1/projects/{project}/datasets/{name}/versions",
        params={"filename": filename},
        content=content,
        headers={"Authorization": f"Bearer {hub_server.token}"},
        timeout=60,
    )


def test_a_path_in_the_file_name_is_only_a_name(hub_server: LiveHub) -> None:
    content = inspections(10).write_csv().encode()
    response = hub_server_post(hub_server, "quality", "sneaky", "../../../etc/passwd.csv", content)
    assert response.status_code == 201, response.text
    found = hub_server.graphql(DATASET, {"p": "quality", "n": "sneaky"})["data"]["dataset"]
    assert found["versions"][0]["source"] == "passwd.csv"


def test_roles_restrictions_and_pii_masking(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "inspections", inspections(200))
    client.upload_dataset("quality", "patients", inspections(50))
    admin = hub_server.graphql
    tagged = admin(
        'mutation { describeDatasetColumn(project: "quality", dataset: "inspections", '
        'column: "inspector_email", description: "Who inspected the part", pii: true) '
        "{ __typename ... on DatasetColumn { pii description } } }"
    )["data"]["describeDatasetColumn"]
    assert tagged == {
        "__typename": "DatasetColumn",
        "pii": True,
        "description": "Who inspected the part",
    }
    viewer = person(hub_server, "val", "viewer")
    editor = person(hub_server, "ed", "editor")
    outsider = person(hub_server, "otto", None)

    seen = graphql_call(hub_server.url, viewer, DATASET, {"p": "quality", "n": "inspections"})
    rows = seen["data"]["dataset"]["version"]["rows"]
    assert rows["masked"] == ["inspector_email"]
    email = rows["columns"].index("inspector_email")
    assert {r[email] for r in rows["rows"]} == {"•••"}
    profile = {c["name"]: c["profile"] for c in seen["data"]["dataset"]["version"]["columns"]}
    assert "top" not in profile["inspector_email"] and "min" not in profile["inspector_email"]
    downloaded = hub.Client(hub_server.url, viewer).dataset("quality", "inspections")
    assert set(downloaded["inspector_email"]) == {"•••"}
    assert "@" in client.dataset("quality", "inspections")["inspector_email"][0], "admins see it"

    # An editor may describe but not tag PII; a viewer may do neither.
    untag = (
        'mutation { describeDatasetColumn(project: "quality", dataset: "inspections", '
        'column: "inspector_email", description: "x", pii: false) { __typename } }'
    )
    assert (
        graphql_call(hub_server.url, editor, untag)["data"]["describeDatasetColumn"]["__typename"]
        == "ForbiddenError"
    )

    # Restricted to a group: the editor outside it does not see that it exists.
    asyncio.run(accounts.create_group(hub_server.store, SYSTEM, "clinicians"))
    asyncio.run(accounts.add_member(hub_server.store, SYSTEM, "clinicians", "val"))
    restricted = admin(
        'mutation { restrictDataset(project: "quality", dataset: "patients", groups: ["clinicians"]) { __typename } }'
    )["data"]["restrictDataset"]
    assert restricted["__typename"] == "Dataset"
    names = '{ datasets(project: "quality") { name } }'
    assert {d["name"] for d in graphql_call(hub_server.url, editor, names)["data"]["datasets"]} == {
        "inspections"
    }
    assert (
        graphql_call(hub_server.url, editor, DATASET, {"p": "quality", "n": "patients"})["data"][
            "dataset"
        ]
        is None
    )
    val_sees = person_sees(hub_server, "val")
    assert val_sees == {"inspections", "patients"}
    assert graphql_call(hub_server.url, outsider, names)["data"]["datasets"] == []
    hidden = httpx.get(
        f"{hub_server.url}/api/v1/projects/quality/datasets/patients/versions/latest/data",
        headers={"Authorization": f"Bearer {editor}"},
    )
    assert hidden.status_code == 404

    events = asyncio.run(hub_server.store.audit.search(AuditQuery(action="dataset.preview"), 50))
    assert events and all(e.row_count is not None for e in events)


def person_sees(hub_server: LiveHub, name: str) -> set[str]:
    store = hub_server.store
    user = asyncio.run(store.users.by_name(name))
    assert user is not None
    principal = asyncio.run(
        tokens.principal_for_user(store, user, auth_method="session", auth_id=None)
    )
    token = asyncio.run(tokens.create_token(store, principal, "fresh"))[1]
    found = graphql_call(hub_server.url, token, '{ datasets(project: "quality") { name } }')
    return {d["name"] for d in found["data"]["datasets"]}


def test_an_interrupted_upload_leaves_nothing_behind(hub_server: LiveHub) -> None:
    host, port = hub_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            b"POST /api/v1/projects/quality/datasets/cut/versions?filename=big.csv HTTP/1.1\r\n"
            + f"Host: {host}\r\nAuthorization: Bearer {hub_server.token}\r\n".encode()
            + b"Content-Length: 50000000\r\n\r\n"
            + b"a,b\n1,2\n" * 100_000
        )
    scratch = hub_server.settings.data_dir / "tmp"
    deadline = time.monotonic() + 10
    while list(scratch.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(scratch.glob("*")), "the partial upload was removed"
    assert hub_server.graphql(DATASET, {"p": "quality", "n": "cut"})["data"]["dataset"] in (
        None,
        {"name": "cut", "versions": [], "version": None},
    )


def test_start_up_sweeps_what_a_crash_left(tmp_path: Path) -> None:
    from hub.app import create_app
    from hub.settings import Settings
    from hub.store import open_store

    settings = Settings(data_dir=tmp_path)
    store = open_store(settings.database_path)
    try:
        source = tmp_path / "kept.parquet"
        inspections(20).write_parquet(source)
        asyncio.run(
            dataset_uploads.upload(
                store, settings, SYSTEM, "quality", "kept", source, "kept.parquet"
            )
        )
        kept = next((tmp_path / "objects").rglob("*.parquet"))
        orphan = tmp_path / "objects" / "ab" / ("ab" + "0" * 62 + ".parquet")
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"left by a crash")
        (tmp_path / "tmp").mkdir(exist_ok=True)
        (tmp_path / "tmp" / "upload.part").write_bytes(b"half")
        create_app(settings, store)
        assert kept.exists() and not orphan.exists()
        assert not list((tmp_path / "tmp").iterdir())
    finally:
        store.close()


COMPARE = """query($p: String!, $n: String!, $k: String) { dataset(project: $p, name: $n) {
  compare(before: 1, after: 2, key: $k) { __typename
    ... on DatasetComparison { rowsBefore rowsAfter addedColumns removedColumns
      retypedColumns { name before after } key rowsAdded rowsRemoved rowsChanged repeatedKeys
      shifts { name meanBefore meanAfter } summary }
    ... on Error { message } } } }"""


def test_a_comparison_too_big_for_memory_says_so(tmp_path: Path) -> None:
    """Matching 300,000 long keys in a hub with 24 MB for DuckDB: a limit the person can act
    on (it was "Unexpected error"), and the hub answers the next request."""
    from tests.inprocess import in_process_hub

    rows = 300_000
    before = pl.DataFrame(
        {"id": [f"part-{i:09d}-{'x' * 30}" for i in range(rows)], "v": np.arange(rows) * 0.5}
    )
    for api in in_process_hub(tmp_path, demo=False, duckdb_memory_limit="24MB"):
        for number, frame in enumerate([before, before.with_columns(pl.col("v") + 1)]):
            path = tmp_path / f"v{number}.parquet"
            frame.write_parquet(path)
            made = dataset_uploads.upload(
                api.store, api.settings, SYSTEM, "quality", "big", path, path.name
            )
            asyncio.run(made)
        found = api.graphql(COMPARE, {"p": "quality", "n": "big", "k": "id"})["data"]
        result = found["dataset"]["compare"]
        assert result["__typename"] == "ValidationError", result
        assert "needed more memory than the hub gives a request (24MB)" in result["message"]
        assert "Compare without a key" in result["message"]
        unkeyed = api.graphql(COMPARE, {"p": "quality", "n": "big", "k": None})["data"]
        assert unkeyed["dataset"]["compare"]["rowsAfter"] == rows


def test_two_versions_compared_in_words_and_numbers(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    before = inspections(5000)
    kept = before.filter(pl.col("part_id") >= 100)  # 100 parts dropped
    changed = kept.with_columns(
        pl.when(pl.col("part_id") < 150)
        .then(pl.col("temperature_c") + 10.0)
        .otherwise(pl.col("temperature_c"))
        .alias("temperature_c")
    )  # 50 parts re-measured
    new = inspections(200, seed=9).with_columns(pl.col("part_id") + 10_000)  # 200 new parts
    after = pl.concat([changed, new]).with_columns(pl.lit("night").alias("shift"))
    client.upload_dataset("quality", "parts", before)
    client.upload_dataset("quality", "parts", after)
    found = hub_server.graphql(COMPARE, {"p": "quality", "n": "parts", "k": "part_id"})
    result = found["data"]["dataset"]["compare"]
    assert result["__typename"] == "DatasetComparison", result
    assert (result["rowsBefore"], result["rowsAfter"]) == (5000, 5100)
    assert result["addedColumns"] == ["shift"] and result["removedColumns"] == []
    assert (result["rowsAdded"], result["rowsRemoved"], result["rowsChanged"]) == (200, 100, 50)
    assert result["repeatedKeys"] == 0
    assert "100 more rows (5,000 → 5,100)." in result["summary"]
    assert "New column: shift." in result["summary"]
    assert any(line.startswith("Matched by part_id: 200 rows added") for line in result["summary"])
    temperature = next(s for s in result["shifts"] if s["name"] == "temperature_c")
    assert temperature["meanAfter"] == pytest.approx(after["temperature_c"].mean())

    unkeyed = hub_server.graphql(COMPARE, {"p": "quality", "n": "parts", "k": None})
    assert unkeyed["data"]["dataset"]["compare"]["rowsAdded"] is None
    wrong = hub_server.graphql(COMPARE, {"p": "quality", "n": "parts", "k": "shift"})
    assert wrong["data"]["dataset"]["compare"]["__typename"] == "ValidationError"


LINEAGE_RUN = (
    """query($id: ID!) { run(id: $id) { datasets { direction project dataset version } } }"""
)
LINEAGE_VERSION = """query($p: String!, $n: String!, $v: Int) { dataset(project: $p, name: $n) {
  version(number: $v) { runs { direction run { id name } } } } }"""


def test_lineage_both_ways_and_never_past_a_restriction(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "inspections", inspections(100))
    client.upload_dataset("quality", "inspections", inspections(120, seed=4))
    client.upload_dataset("quality", "patients", inspections(10))
    client.upload_dataset("quality", "cleaned", inspections(90))
    run = hub.init(
        project="quality",
        experiment="detector",
        url=hub_server.url,
        token=hub_server.token,
        capture_environment=False,
    )
    assert run.use_dataset("quality", "inspections", version=1) == 1
    assert run.use_dataset("quality", "patients") == 1
    assert run.use_dataset("quality", "cleaned", direction="output") == 1
    assert run.use_dataset("quality", "inspections", version=1) == 1, "recorded once"
    run.finish()
    with pytest.raises(hub.HubError, match="direction"):
        run.use_dataset("quality", "inspections", direction="sideways")
    with pytest.raises(hub.HubError, match="No dataset named 'nope'"):
        run.use_dataset("quality", "nope")

    seen = hub_server.graphql(LINEAGE_RUN, {"id": run.id})["data"]["run"]["datasets"]
    assert [(d["direction"], d["dataset"], d["version"]) for d in seen] == [
        ("input", "inspections", 1),
        ("input", "patients", 1),
        ("output", "cleaned", 1),
    ]
    used_by = hub_server.graphql(LINEAGE_VERSION, {"p": "quality", "n": "inspections", "v": 1})
    assert [r["run"]["id"] for r in used_by["data"]["dataset"]["version"]["runs"]] == [run.id]
    latest = hub_server.graphql(LINEAGE_VERSION, {"p": "quality", "n": "inspections", "v": None})
    assert latest["data"]["dataset"]["version"]["runs"] == [], "version 2 was not used"

    # A viewer outside the group the patients data is restricted to never learns of it.
    hub_server.graphql(
        'mutation { restrictDataset(project: "quality", dataset: "patients", groups: []) { __typename } }'
    )
    asyncio.run(accounts.create_group(hub_server.store, SYSTEM, "clinic"))
    hub_server.graphql(
        'mutation { restrictDataset(project: "quality", dataset: "patients", groups: ["clinic"]) { __typename } }'
    )
    viewer = person(hub_server, "vic", "viewer")
    theirs = graphql_call(hub_server.url, viewer, LINEAGE_RUN, {"id": run.id})["data"]["run"][
        "datasets"
    ]
    assert {d["dataset"] for d in theirs} == {"inspections", "cleaned"}


ROWS = """query($p: String!, $n: String!, $f: String, $o: [String!]) { dataset(project: $p, name: $n) {
  version { rows(limit: 500, filter: $f, orderBy: $o) { __typename
    ... on DatasetRows { columns rows total masked }
    ... on FilterError { message position } ... on ValidationError { message } } } } }"""


def test_the_filter_box_speaks_the_run_filter_language(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    frame = inspections(2000)
    client.upload_dataset("quality", "inspections", frame)

    def rows(
        filter_text: str | None, token: str | None = None, order: list[str] | None = None
    ) -> dict:  # type: ignore[type-arg]
        variables = {"p": "quality", "n": "inspections", "f": filter_text, "o": order}
        body = graphql_call(hub_server.url, token or hub_server.token, ROWS, variables)
        return body["data"]["dataset"]["version"]["rows"]  # type: ignore[no-any-return]

    hot = rows("temperature_c > 45 and line in ('A', 'B') and defect != 'none'")
    expected = frame.filter(
        (pl.col("temperature_c") > 45)
        & pl.col("line").is_in(["A", "B"])
        & (pl.col("defect") != "none")
    )
    assert hot["total"] == len(expected) > 0
    index = hot["columns"].index("part_id")
    assert sorted(r[index] for r in hot["rows"]) == sorted(expected["part_id"].to_list())
    assert rows("defect like 'scr%' or defect = 'dent'")["total"] == len(
        frame.filter(pl.col("defect") != "none")
    )
    assert rows("not (line = 'A')")["total"] == len(frame.filter(pl.col("line") != "A"))

    broken = rows("temperature_c >")
    assert broken["__typename"] == "FilterError" and "ends too early" in broken["message"]
    unknown = rows("colour = 'red'")
    assert (
        unknown["__typename"] == "FilterError"
        and "There is no column 'colour'" in unknown["message"]
    )
    mismatch = rows("part_id = 'abc'")
    assert mismatch["__typename"] == "ValidationError" and "another kind" in mismatch["message"]

    hub_server.graphql(
        'mutation { describeDatasetColumn(project: "quality", dataset: "inspections", '
        'column: "inspector_email", description: "", pii: true) { __typename } }'
    )
    viewer = person(hub_server, "vie", "viewer")
    probing = rows("inspector_email = 'inspector3@plant.example'", viewer)
    assert probing["__typename"] == "ValidationError" and "personal data" in probing["message"]
    sorting = rows(None, viewer, ["inspector_email desc"])
    assert sorting["__typename"] == "ValidationError"
    assert rows("inspector_email = 'inspector3@plant.example'")["total"] > 0, "admins may"


ANNOTATE = """mutation($v: Int!, $a: [AnnotationInput!]!) {
  annotateRows(project: "quality", dataset: "inspections", version: $v, annotations: $a) {
    __typename ... on Annotated { count } ... on Error { message } } }"""
PUBLISH = """mutation($v: Int!) { publishAnnotations(project: "quality", dataset: "inspections",
  version: $v, message: "labels from the quality team") {
    __typename ... on DatasetVersion { number rowCount columns { name } } ... on Error { message } } }"""


def test_experts_annotate_rows_and_publishing_makes_a_child_version(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    frame = inspections(300)
    client.upload_dataset("quality", "inspections", frame)
    expert = person(hub_server, "farah", "commenter")
    viewer = person(hub_server, "vince", "viewer")
    page = graphql_call(
        hub_server.url,
        expert,
        ROWS,
        {"p": "quality", "n": "inspections", "f": "defect = 'dent'", "o": None},
    )
    dents = page["data"]["dataset"]["version"]["rows"]
    rows = graphql_call(
        hub_server.url,
        expert,
        'query { dataset(project: "quality", name: "inspections") { version { rows(limit: 3, filter: "defect = \'dent\'") { ... on DatasetRows { rowNumbers } } } } }',
    )
    numbers = rows["data"]["dataset"]["version"]["rows"]["rowNumbers"]
    assert len(numbers) == 3 and dents["total"] > 3
    said = graphql_call(
        hub_server.url,
        expert,
        ANNOTATE,
        {
            "v": 1,
            "a": [
                {
                    "row": numbers[0],
                    "label": "scratch",
                    "note": "it is a scratch, not a dent",
                    "vote": -1,
                },
                {"row": numbers[1], "vote": 1},
                {"row": numbers[2], "label": "scratch", "note": "deep one", "vote": -1},
            ],
        },
    )["data"]["annotateRows"]
    assert said == {"__typename": "Annotated", "count": 3}
    # A row's latest annotation is its annotation: relabelling clears the earlier note and vote.
    graphql_call(
        hub_server.url,
        expert,
        ANNOTATE,
        {
            "v": 1,
            "a": [
                {"row": numbers[1], "label": "dent", "vote": 1},
                {"row": numbers[2], "label": "dent"},
            ],
        },
    )
    refused = graphql_call(hub_server.url, viewer, ANNOTATE, {"v": 1, "a": [{"row": 0, "vote": 1}]})
    assert refused["data"]["annotateRows"]["__typename"] == "ForbiddenError"
    bad_row = graphql_call(
        hub_server.url, expert, ANNOTATE, {"v": 1, "a": [{"row": 300, "vote": 1}]}
    )
    assert "is not in version 1" in bad_row["data"]["annotateRows"]["message"]

    listed = hub_server.graphql(
        '{ dataset(project: "quality", name: "inspections") { version(number: 1) { annotations { row label note vote author } } } }'
    )
    marks = listed["data"]["dataset"]["version"]["annotations"]
    assert [(m["row"], m["label"], m["note"], m["vote"], m["author"]) for m in marks] == sorted(
        [
            (numbers[0], "scratch", "it is a scratch, not a dent", -1, "farah"),
            (numbers[1], "dent", None, 1, "farah"),
            (numbers[2], "dent", None, None, "farah"),
        ]
    )

    assert (
        graphql_call(hub_server.url, expert, PUBLISH, {"v": 1})["data"]["publishAnnotations"][
            "__typename"
        ]
        == "ForbiddenError"
    )
    published = hub_server.graphql(PUBLISH, {"v": 1})["data"]["publishAnnotations"]
    assert published["number"] == 2 and published["rowCount"] == 300
    assert [c["name"] for c in published["columns"]][-3:] == ["label", "annotation_note", "vote"]
    labelled = client.dataset("quality", "inspections", version=2)
    assert labelled.drop("label", "annotation_note", "vote").equals(frame), "rows kept in order"
    assert labelled["label"][numbers[0]] == "scratch" and labelled["vote"][numbers[1]] == 1
    assert labelled["label"].null_count() == 297
    assert labelled["label"][numbers[2]] == "dent" and labelled["vote"][numbers[2]] is None
    assert labelled["annotation_note"][numbers[2]] is None
    versions = hub_server.graphql(DATASET, {"p": "quality", "n": "inspections"})["data"]["dataset"][
        "versions"
    ]
    assert versions[0]["source"] == "annotations of version 1"


def test_registering_in_place_records_a_checksum_and_notices_changes(tmp_path: Path) -> None:
    from tests.conftest import start_hub

    roots = tmp_path / "lake"
    (roots / "vision").mkdir(parents=True)
    outside = tmp_path / "elsewhere.parquet"
    inspections(50).write_parquet(outside)
    source = roots / "vision" / "april.parquet"
    inspections(400).write_parquet(source)
    (roots / "vision" / "escape.parquet").symlink_to(outside)
    (roots / "vision" / "notes.csv").write_text("a\n1\n")
    for live in start_hub(tmp_path / "hub", demo=False, dataset_roots=str(roots)):
        client = hub.Client(live.url, live.token)
        made = client.register_dataset("quality", "april", str(source), message="in the lake")
        assert (made["version"], made["rows"], made["created"]) == (1, 400, True)
        assert not list((tmp_path / "hub" / "objects").rglob("*.parquet")), "nothing copied"
        assert client.register_dataset("quality", "april", str(source))["created"] is False
        assert client.dataset("quality", "april").equals(inspections(400))
        for bad, words in (
            (str(outside), "is not inside a folder"),
            (str(roots / "vision" / "escape.parquet"), "is not inside a folder"),
            (str(roots / "vision" / "notes.csv"), "upload CSV files instead"),
            (str(roots / "vision" / "missing.parquet"), "There is no file"),
        ):
            with pytest.raises(hub.HubError, match=words):
                client.register_dataset("quality", "april", bad)
        inspections(401).write_parquet(source)  # someone rewrites the file at the source
        changed = live.graphql(
            '{ dataset(project: "quality", name: "april") { version { rows(limit: 1) { '
            "__typename ... on ConflictError { message } } } } }"
        )["data"]["dataset"]["version"]["rows"]
        assert (
            changed["__typename"] == "ConflictError"
            and "changed after it was registered" in changed["message"]
        )
        with pytest.raises(hub.HubError, match="changed after it was registered"):
            client.dataset("quality", "april")


def test_the_reader_process_is_held_to_its_limits(tmp_path: Path) -> None:
    """A file that takes too long, or too much memory, costs the reader process, not the hub."""
    from hub.settings import Settings
    from hub.store import open_store

    big = tmp_path / "bomb.parquet"
    # 3M rows of near-constant data: a few hundred KB on disk, far more once read and profiled.
    pl.DataFrame({"x": np.zeros(3_000_000), "k": ["same"] * 3_000_000}).write_parquet(big)
    long_line = tmp_path / "long.csv"
    long_line.write_text("a,b\n1," + "x" * 2_000_000 + "\n")
    cases = (
        ({"dataset_worker_seconds": 0.05}, big, "took longer than"),
        ({"dataset_worker_memory_mb": 100}, big, "more memory"),
        ({}, long_line, "could not be read as CSV"),
    )
    for extra, source, words in cases:
        settings = Settings(data_dir=tmp_path / f"hub-{len(words)}-{source.stem}", **extra)  # type: ignore[arg-type]
        store = open_store(settings.database_path)
        try:
            with pytest.raises(InvalidInput, match=words):
                asyncio.run(
                    dataset_uploads.upload(
                        store, settings, SYSTEM, "quality", "d", source, source.name
                    )
                )
            assert not list((settings.data_dir / "tmp").glob("*")), "no scratch left"
        finally:
            store.close()


def test_a_fixed_schema_refuses_a_version_with_other_columns(hub_server: LiveHub) -> None:
    client = hub.Client(hub_server.url, hub_server.token)
    client.upload_dataset("quality", "inspections", inspections(100))
    fixed = hub_server.graphql(
        'mutation { fixDatasetSchema(project: "quality", dataset: "inspections", fixed: true) '
        "{ __typename ... on Dataset { fixedSchema } } }"
    )["data"]["fixDatasetSchema"]
    assert fixed == {"__typename": "Dataset", "fixedSchema": True}
    renamed = (
        inspections(100)
        .rename({"line": "production_line"})
        .with_columns(pl.col("part_id").cast(pl.Float64))
    )
    with pytest.raises(hub.HubError, match="keeps a fixed schema") as refused:
        client.upload_dataset("quality", "inspections", renamed)
    message = str(refused.value)
    assert "line is missing" in message and "production_line is new" in message
    assert "part_id is DOUBLE instead of BIGINT" in message
    assert not list((hub_server.settings.data_dir / "tmp").glob("*"))
    assert client.upload_dataset("quality", "inspections", inspections(120, seed=5))["version"] == 2
    editor = person(hub_server, "eddy", "editor")
    unfix = 'mutation { fixDatasetSchema(project: "quality", dataset: "inspections", fixed: false) { __typename } }'
    assert (
        graphql_call(hub_server.url, editor, unfix)["data"]["fixDatasetSchema"]["__typename"]
        == "ForbiddenError"
    )


def restrict(live: LiveHub, project: str, dataset: str, group: str) -> str:
    """Limit a dataset to a new group (as a site admin would); returns the dataset's id."""
    store = live.store
    found = asyncio.run(store.projects.by_name(project))
    assert found is not None
    record = asyncio.run(store.datasets.by_name(found.id, dataset))
    assert record is not None
    asyncio.run(accounts.create_group(store, SYSTEM, group))
    asyncio.run(access.restrict(store, SYSTEM, found, "dataset", record.id, [group]))
    return record.id
