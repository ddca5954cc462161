"""Parquet uploads kept as they came with big row groups, written again by the hub in row groups
that make deep pages quick, on both backends: the same rows in the same order (annotations stay
on theirs), the version's hash, profile and schema kept, the old object deleted after a grace;
and what is left as it is (small row groups, a legal hold, an erasure waiting, a damaged file)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.domain.audit import AuditQuery
from hub.services.data import dataset_layout, dataset_uploads, datasets, row_annotations
from hub.services.data.dataset_layout import LAID_OUT_ROWS, Layouts
from hub.services.data.row_annotations import NewAnnotation
from hub.services.lifecycle import erasure, holds
from hub.services.policy.principal import SYSTEM
from hub.settings import Settings
from hub.store import Store, store_for
from tests.conftest import S3Server
from tests.services.helpers import run

ROWS = 300_000  # one row group of them: more than LAID_OUT_ROWS, less than pyarrow's default


def readings(path: Path, rows: int, row_group_rows: int) -> Path:
    """Sensor readings as pyarrow writes them, in row groups of ``row_group_rows``."""
    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "reading_id": np.arange(rows, dtype=np.int64),
            "sensor": pa.array(rng.choice(["press-1", "press-2", "oven"], rows)),
            "temperature_c": np.round(rng.normal(41.5, 3.2, rows), 3),
            "taken_at": pa.array(
                np.datetime64("2026-04-01") + np.arange(rows).astype("timedelta64[s]")
            ),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_rows)
    return path


@pytest.fixture
def setup(store: Store, tmp_path: Path) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path)
    source = readings(tmp_path / "readings.parquet", ROWS, ROWS)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    version, _ = run(
        dataset_uploads.upload(store, settings, SYSTEM, "plant", "readings", source, source.name)
    )
    found = run(datasets.find(store, SYSTEM, "plant", "readings"))
    return {"settings": settings, "found": found, "version": version, "digest": digest}


def object_of(store: Store, version_id: str) -> tuple[str, int | None]:
    (stored,) = run(store.datasets.files(version_id))
    return stored.object_hash, stored.row_group_rows


def every_row(store: Store, digest: str) -> list[tuple[Any, ...]]:
    path = store.objects.location(digest)
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{path}', file_row_number = true) ORDER BY file_row_number"
    ).fetchall()


def row_groups(store: Store, digest: str) -> list[int]:
    path = store.objects.location(digest)
    found = duckdb.sql(
        "SELECT DISTINCT row_group_id, row_group_num_rows "
        f"FROM parquet_metadata('{path}') ORDER BY 1"
    ).fetchall()
    return [int(rows) for _, rows in found]


def deep_page(store: Store, found: datasets.Found, record: Any) -> Any:
    page = run(
        datasets.preview(store, SYSTEM, found, record, 200_000, 50, ["temperature_c desc"], None)
    )
    return page.rows, page.numbers


def test_a_kept_upload_is_written_again_with_the_same_rows_in_small_row_groups(
    store: Store, setup: dict[str, Any], tmp_path: Path
) -> None:
    settings, found, version = setup["settings"], setup["found"], setup["version"]
    assert object_of(store, version.id) == (setup["digest"], ROWS), "kept as it came"
    run(
        row_annotations.annotate(
            store, SYSTEM, found, version, [NewAnnotation(250_123, label="spike")]
        )
    )
    rows_before = every_row(store, setup["digest"])
    page_before = deep_page(store, found, version)
    layouts = Layouts()

    done = run(dataset_layout.lay_out_next(store, settings, layouts))

    assert done is not None and done.outcome == "written again"
    assert [(m.dataset_id, m.rows) for m in done.moved] == [(found.dataset.id, ROWS)]
    digest, row_group_rows = object_of(store, version.id)
    groups = row_groups(store, digest)  # DuckDB's 100,000 are whole vectors, e.g. 100,352
    assert digest != setup["digest"] and row_group_rows == max(groups)
    assert 100_000 <= max(groups) <= LAID_OUT_ROWS and sum(groups) == ROWS and len(groups) == 3
    assert every_row(store, digest) == rows_before, "not the same rows in the same order"
    (after,) = run(datasets.versions(store, found))
    assert (after.content_hash, after.profile, after.schema, after.row_count) == (
        version.content_hash,
        version.profile,
        version.schema,
        version.row_count,
    )
    assert deep_page(store, found, after) == page_before
    assert after.size_bytes == Path(store.objects.location(digest)).stat().st_size
    assert after.size_bytes != version.size_bytes
    notes = run(row_annotations.version_annotations(store, SYSTEM, found, after))
    assert [(a.row_number, a.label) for a in notes] == [(250_123, "spike")]
    events = run(store.audit.search(AuditQuery(action="dataset.rewrite"), 10))
    assert [(e.object_id, e.row_count, e.actor_id) for e in events] == [
        (found.dataset.id, ROWS, SYSTEM.user_id)
    ]
    assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None
    assert store.objects.exists(setup["digest"]), "deleted before reads that found it ended"

    again = readings(tmp_path / "again.parquet", ROWS, ROWS)  # the same bytes, uploaded again
    _, added = run(
        dataset_uploads.upload(store, settings, SYSTEM, "plant", "readings", again, again.name)
    )
    assert not added, "the same content made a new version"


def test_the_replaced_object_is_deleted_after_the_grace(
    store: Store, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts = Layouts()
    monkeypatch.setattr(dataset_layout, "GRACE", 0.0)
    done = run(dataset_layout.lay_out_next(store, setup["settings"], layouts))
    assert done is not None and done.outcome == "written again"
    assert run(dataset_layout.lay_out_next(store, setup["settings"], layouts)) is None
    assert not store.objects.exists(setup["digest"])
    assert store.objects.exists(object_of(store, setup["version"].id)[0])


def test_small_row_groups_are_left_as_they_came(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    source = readings(tmp_path / "small.parquet", 120_000, 40_000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    version, _ = run(
        dataset_uploads.upload(store, settings, SYSTEM, "plant", "small", source, source.name)
    )
    assert object_of(store, version.id) == (digest, 40_000)
    assert run(dataset_layout.lay_out_next(store, settings, Layouts())) is None
    assert object_of(store, version.id) == (digest, 40_000)


def test_a_dataset_under_a_legal_hold_keeps_its_bytes_until_it_is_released(
    store: Store, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, version = setup["settings"], setup["version"]
    hold = run(holds.place(store, SYSTEM, "dataset", "readings", "audit 12", project="plant"))
    layouts = Layouts()
    done = run(dataset_layout.lay_out_next(store, settings, layouts))
    assert done is not None and done.outcome == "left" and "legal hold" in done.reason
    assert object_of(store, version.id) == (setup["digest"], ROWS)
    assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None, "tried again"
    run(holds.release(store, SYSTEM, hold.id))
    assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None, "retried at once"
    monkeypatch.setattr(dataset_layout, "RETRY", 0.0)  # an hour later
    done = run(dataset_layout.lay_out_next(store, settings, layouts))
    assert done is not None and done.outcome == "written again"


def test_an_erasure_waiting_is_not_raced(store: Store, setup: dict[str, Any]) -> None:
    settings, version, found = setup["settings"], setup["version"], setup["found"]
    run(erasure.erase_rows(store, settings, SYSTEM, "plant", "readings", "reading_id < 10"))
    done = run(dataset_layout.lay_out_next(store, settings, Layouts()))
    assert done is not None and done.outcome == "left"
    assert object_of(store, version.id)[0] == setup["digest"]

    async def ours() -> bool:
        return True

    erased = run(erasure.carry_out_next(store, settings, ours))
    assert erased is not None and erased.state == "done" and erased.total == 10
    # The erasure wrote the object again itself; its row groups are looked at once.
    assert object_of(store, version.id)[1] is None
    looked = run(dataset_layout.lay_out_next(store, settings, Layouts()))
    assert looked is not None and looked.outcome == "read well"
    assert 100_000 <= (object_of(store, version.id)[1] or 0) <= LAID_OUT_ROWS
    record = run(datasets.version(store, found, None))
    assert record.row_count == ROWS - 10


def test_a_damaged_object_is_left_until_a_restart(
    store: Store, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, version = setup["settings"], setup["version"]
    path = Path(store.objects.location(setup["digest"]))
    path.chmod(0o644)
    with path.open("r+b") as handle:  # a disk that lost the middle of the file
        handle.seek(path.stat().st_size // 2)
        handle.write(b"\0" * 4096)
    layouts = Layouts()
    done = run(dataset_layout.lay_out_next(store, settings, layouts))
    assert done is not None and done.outcome == "left" and done.reason
    assert object_of(store, version.id) == (setup["digest"], ROWS)
    assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None
    monkeypatch.setattr(dataset_layout, "RETRY", 0.0)  # nor an hour later
    assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None


def test_an_object_in_s3_is_read_there_and_written_back(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_server.client.create_bucket(Bucket="salon-objects")
    settings = Settings(
        data_dir=tmp_path, object_store="s3://salon-objects/team", **s3_server.settings
    )
    store = store_for(settings)
    try:
        source = readings(tmp_path / "readings.parquet", ROWS, ROWS)
        version, _ = run(
            dataset_uploads.upload(
                store, settings, SYSTEM, "plant", "readings", source, "r.parquet"
            )
        )
        found = run(datasets.find(store, SYSTEM, "plant", "readings"))
        kept, _ = object_of(store, version.id)
        assert object_of(store, version.id) == (kept, ROWS)
        page_before = deep_page(store, found, version)
        layouts = Layouts()
        monkeypatch.setattr(dataset_layout, "GRACE", 0.0)

        done = run(dataset_layout.lay_out_next(store, settings, layouts))

        assert done is not None and done.outcome == "written again", done
        digest, row_group_rows = object_of(store, version.id)
        assert digest != kept and 100_000 <= (row_group_rows or 0) <= LAID_OUT_ROWS
        (after,) = run(datasets.versions(store, found))
        assert deep_page(store, found, after) == page_before
        assert run(dataset_layout.lay_out_next(store, settings, layouts)) is None
        stored = s3_server.client.list_objects_v2(Bucket="salon-objects")["Contents"]
        assert [k["Key"] for k in stored] == [f"team/{digest[:2]}/{digest}.parquet"], stored
        assert not list((tmp_path / "objects").rglob("*.parquet")), "kept on the hub's disk"
    finally:
        store.close()
