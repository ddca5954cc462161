"""The object store, in a folder and under an S3 prefix (a real moto server): objects kept once
by content, read back whole, counted without walking the store, swept when nothing refers to
them, and left alone while young when other hubs may be about to record them."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store.objects import BucketObjects, FolderObjects, ObjectStore
from hub.store.remote import S3, RemoteError, S3Access
from tests.conftest import S3Server


def _file(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def _bucket(server: S3Server, name: str) -> S3:
    server.client.create_bucket(Bucket=name)
    settings = server.settings
    return S3(
        S3Access(
            settings["s3_endpoint"],
            key_id=settings["s3_access_key_id"],
            secret=settings["s3_secret_access_key"],
        )
    )


@pytest.fixture(params=["folder", "bucket"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "folder":
        yield FolderObjects(tmp_path / "objects")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    yield BucketObjects(_bucket(server, "salon-objects"), "s3://salon-objects/team/")


def test_objects_are_kept_once_by_content_and_read_back_whole(
    objects: ObjectStore, tmp_path: Path
) -> None:
    assert objects.count() == 0
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    digest, size = objects.put(_file(tmp_path, "a", big), "")
    assert (digest, size) == (hashlib.sha256(big).hexdigest(), len(big))
    assert not (tmp_path / "a").exists(), "the upload's scratch file is taken"
    again, _ = objects.put(_file(tmp_path, "b", big), "")
    assert again == digest and objects.count() == 1
    assert b"".join(objects.chunks(digest, "")) == big
    assert objects.exists(digest, "") and not objects.exists(digest, ".parquet")
    assert objects.location(digest).endswith(f"{digest[:2]}/{digest}.parquet")
    objects.probe()


def test_a_sweep_removes_what_nothing_refers_to_but_spares_the_young(
    objects: ObjectStore, tmp_path: Path
) -> None:
    kept, _ = objects.put(_file(tmp_path, "a", b"alpha"))
    orphan, _ = objects.put(_file(tmp_path, "b", b"beta"))
    assert objects.sweep({kept}, older_than=3600) == 0, "another hub may record it yet"
    assert objects.exists(orphan)
    time.sleep(1.1)  # S3 keeps times to the second
    assert objects.sweep({kept}, older_than=1) == 1
    assert not objects.exists(orphan) and objects.exists(kept)
    assert objects.count() == 1


def test_half_moved_files_are_not_counted_and_are_swept(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    objects = FolderObjects(root)
    kept, _ = objects.put(_file(tmp_path, "a", b"alpha"))
    objects.put(_file(tmp_path, "c", b"gamma"), "")
    (root / kept[:2] / f"{kept}.parquet.4242.part").write_bytes(b"half")  # left by a crash
    assert FolderObjects(root).count() == 2, "a fresh count skips half-moved files"
    assert objects.sweep({kept}) == 2  # the unreferenced object and the .part file
    assert objects.count() == 1 == FolderObjects(root).count()


def test_a_bucket_that_is_not_there_is_a_clear_error(s3_server: S3Server, tmp_path: Path) -> None:
    s3 = _bucket(s3_server, "elsewhere")
    objects = BucketObjects(s3, "s3://no-such-bucket/salon")
    with pytest.raises(RemoteError, match="no-such-bucket"):
        objects.probe()
    with pytest.raises(RemoteError, match="no-such-bucket"):
        objects.put(_file(tmp_path, "a", b"alpha"))
    assert not (tmp_path / "a").exists(), "a refused upload leaves no scratch file behind"


def test_files_of_others_under_the_store_are_neither_counted_nor_swept(
    objects: ObjectStore, tmp_path: Path
) -> None:
    """The metric points' DuckLake keeps its Parquet files under ``points/`` in the same
    store: they are not objects, and no sweep may touch them."""
    kept, _ = objects.put(_file(tmp_path, "a", b"alpha"))
    lake = "points/main/metrics/ducklake-0193.parquet"
    if isinstance(objects, FolderObjects):
        (objects.root / lake).parent.mkdir(parents=True)
        (objects.root / lake).write_bytes(b"PAR1")
        (objects.root / "ab").mkdir(exist_ok=True)
        (objects.root / "ab" / "notes.txt").write_bytes(b"someone's")
    else:
        assert isinstance(objects, BucketObjects)
        objects.s3.write(f"s3://{objects.bucket}/{objects.prefix}{lake}", b"PAR1")
    assert objects.count() == 1
    assert objects.sweep(set(), older_than=0) == 1  # only the object itself
    if isinstance(objects, FolderObjects):
        assert (objects.root / lake).is_file() and (objects.root / "ab" / "notes.txt").is_file()
    else:
        assert objects.s3.head(f"s3://{objects.bucket}/{objects.prefix}{lake}").size == 4
    assert not objects.exists(kept)
