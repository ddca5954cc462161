"""Content-addressed objects: files stored once, named by their SHA-256 (``ab/<sha256>.parquet``
for dataset versions, ``ab/<sha256>`` for artifacts), in a folder or under an S3 prefix
(``SALON_OBJECT_STORE``). Objects never change once stored, so any hub may read any object at
any time; only the sweep removes them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from hub.store.remote import S3, RemoteError, RemoteMissing, split_uri

CHUNK = 1024 * 1024
PROBE = ".ready"  # what the readiness check writes and removes
SUFFIXES = ("", ".parquet")  # an artifact's object, a dataset version's


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _name(digest: str, suffix: str) -> str:
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError("not a SHA-256 digest")
    return f"{digest[:2]}/{digest}{suffix}"


def _named_as_object(key: str) -> bool:
    """Whether ``key`` (``ab/<sha256>[.suffix][.part]``, relative to the store) is one of its
    objects, or half of one; anything else there (the metric points' DuckLake files under
    ``points/``) is not the object store's to count or sweep."""
    folder, _, name = key.partition("/")
    digest = name.split(".", 1)[0]
    hexadecimal = "0123456789abcdef"
    return (
        len(folder) == 2
        and len(digest) == 64
        and digest.startswith(folder)
        and all(c in hexadecimal for c in digest)
        and "/" not in name
    )


class ObjectStore(Protocol):
    """Immutable files named by their SHA-256: identical content is kept once."""

    def describe(self) -> str:
        """Where the objects are, for people and logs."""
        ...

    def location(self, digest: str, suffix: str = ".parquet") -> str:
        """What DuckDB reads the object at: a file path, or an ``s3://`` address."""
        ...

    def put(
        self, source: Path, suffix: str = ".parquet", digest: str | None = None
    ) -> tuple[str, int]:
        """Move the file ``source`` into the store (dropping it when the content is there
        already); returns its digest and size. A reader never sees half an object. ``digest``:
        the file's SHA-256, when the caller hashed its bytes as it wrote them (otherwise the
        file is read once more to hash it)."""
        ...

    def exists(self, digest: str, suffix: str = ".parquet") -> bool: ...

    def chunks(self, digest: str, suffix: str = "") -> Iterator[bytes]:
        """The object's bytes, a megabyte at a time."""
        ...

    def count(self) -> int:
        """How many objects are stored (counted once, then kept by put and sweep)."""
        ...

    def sweep(self, keep: set[str], older_than: float = 0.0) -> int:
        """Delete the objects no version refers to, and half-written ones, that are at least
        ``older_than`` seconds old; returns how many."""
        ...

    def unreferenced(self, keep: set[str], older_than: float) -> list[tuple[str, int]]:
        """(name, size) of the objects :meth:`sweep` would delete now."""
        ...

    def remove(self, digests: list[str], older_than: float) -> int:
        """Delete these objects (every suffix), unless one was stored less than
        ``older_than`` seconds ago: putting content that is there already counts as storing
        it, so an upload that found the object in the store, and has yet to record it, keeps
        it. Returns how many were deleted."""
        ...

    def probe(self) -> None:
        """Write and remove a small object; raises OSError or RemoteError when the store does
        not take files (a full or read-only disk, a bucket that refuses)."""
        ...


class _Counted:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: int | None = None

    def _counted(self, change: int) -> None:
        with self._lock:
            if self._count is not None:
                self._count += change


class FolderObjects(_Counted):
    """Objects as read-only files under ``root`` (the default: ``SALON_DATA_DIR/objects``, or
    a folder every hub mounts)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def path(self, digest: str, suffix: str = ".parquet") -> Path:
        return self.root / _name(digest, suffix)

    def location(self, digest: str, suffix: str = ".parquet") -> str:
        return str(self.path(digest, suffix))

    def count(self) -> int:
        """The folder is walked once; after that put and sweep keep the number, so that a
        metrics scrape every few seconds costs nothing."""
        with self._lock:
            if self._count is None:
                found = self._paths()
                self._count = sum(1 for path in found if not path.name.endswith(".part"))
            return self._count

    def _paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            path
            for path in self.root.glob("*/*")
            if path.is_file() and _named_as_object(f"{path.parent.name}/{path.name}")
        ]

    def put(
        self, source: Path, suffix: str = ".parquet", digest: str | None = None
    ) -> tuple[str, int]:
        digest = digest or sha256_of(source)
        target = self.path(digest, suffix)
        size = source.stat().st_size
        if target.exists():  # stored before: now it is stored again (see remove)
            source.unlink()
            os.utime(target)
            return digest, size
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f"{target.name}.{os.getpid()}.part")
        shutil.move(str(source), staging)
        os.chmod(staging, 0o440)
        with self._lock:
            new = not target.exists()  # another thread or hub may have stored the same content
            os.replace(staging, target)
            if new and self._count is not None:
                self._count += 1
        return digest, size

    def exists(self, digest: str, suffix: str = ".parquet") -> bool:
        return self.path(digest, suffix).exists()

    def chunks(self, digest: str, suffix: str = "") -> Iterator[bytes]:
        with self.path(digest, suffix).open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def sweep(self, keep: set[str], older_than: float = 0.0) -> int:
        removed = 0
        before = time.time() - older_than
        for path in self._paths():
            digest = path.name.split(".", 1)[0]
            if not (path.name.endswith(".part") or digest not in keep):
                continue
            try:
                if older_than and path.stat().st_mtime > before:
                    continue  # another hub may be about to record it
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            if not path.name.endswith(".part"):
                self._counted(-1)
        return removed

    def unreferenced(self, keep: set[str], older_than: float) -> list[tuple[str, int]]:
        before = time.time() - older_than
        found = []
        for path in self._paths():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            digest = path.name.split(".", 1)[0]
            gone = path.name.endswith(".part") or digest not in keep
            if gone and (not older_than or stat.st_mtime <= before):
                found.append((f"{path.parent.name}/{path.name}", stat.st_size))
        return found

    def remove(self, digests: list[str], older_than: float) -> int:
        removed = 0
        before = time.time() - older_than
        for digest in digests:
            for suffix in SUFFIXES:
                path = self.path(digest, suffix)
                try:
                    if path.stat().st_mtime > before:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed += 1
                self._counted(-1)
        return removed

    def probe(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=PROBE) as probe:
            probe.write(b"ok")
            probe.flush()


class BucketObjects(_Counted):
    """Objects under an S3 prefix (AWS, MinIO, any S3-compatible store): ``s3://bucket/prefix``
    with the ``SALON_S3_*`` keys. DuckDB reads dataset versions there directly (httpfs); the
    hub streams artifacts from there."""

    def __init__(self, s3: S3, uri: str) -> None:
        super().__init__()
        self.s3 = s3
        bucket, prefix = split_uri(uri.rstrip("/") + "/x")
        self.bucket = bucket
        self.prefix = prefix[:-1]  # "" or "folder/"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def location(self, digest: str, suffix: str = ".parquet") -> str:
        return f"s3://{self.bucket}/{self.prefix}{_name(digest, suffix)}"

    def put(
        self, source: Path, suffix: str = ".parquet", digest: str | None = None
    ) -> tuple[str, int]:
        digest = digest or sha256_of(source)
        size = source.stat().st_size
        try:
            if not self.exists(digest, suffix):
                # A single PUT, or a multipart upload completed at once: never half an object.
                self.s3.upload(source, self.location(digest, suffix))
                self._counted(1)
            else:  # stored before: now it is stored again (see remove)
                self.s3.touch(self.location(digest, suffix))
        finally:
            source.unlink(missing_ok=True)
        return digest, size

    def exists(self, digest: str, suffix: str = ".parquet") -> bool:
        try:
            self.s3.head(self.location(digest, suffix))
        except RemoteMissing:
            return False
        return True

    def chunks(self, digest: str, suffix: str = "") -> Iterator[bytes]:
        return self.s3.chunks(self.location(digest, suffix))

    def _listing(self) -> Iterator[tuple[str, float, int]]:
        found = self.s3.listing(self.bucket, self.prefix)
        return ((key, at, size) for key, at, size in found if _named_as_object(key))

    def count(self) -> int:
        with self._lock:
            if self._count is None:
                self._count = sum(1 for key, _, _ in self._listing() if not key.endswith(".part"))
            return self._count

    def sweep(self, keep: set[str], older_than: float = 0.0) -> int:
        before = time.time() - older_than
        gone = [
            key
            for key, modified, _ in self._listing()
            if key.rsplit("/", 1)[1].split(".", 1)[0] not in keep
            and (not older_than or modified <= before)
        ]
        for key in gone:
            self.s3.remove(f"s3://{self.bucket}/{self.prefix}{key}")
            self._counted(-1)
        return len(gone)

    def unreferenced(self, keep: set[str], older_than: float) -> list[tuple[str, int]]:
        before = time.time() - older_than
        return [
            (key, size)
            for key, modified, size in self._listing()
            if key.rsplit("/", 1)[1].split(".", 1)[0] not in keep
            and (not older_than or modified <= before)
        ]

    def remove(self, digests: list[str], older_than: float) -> int:
        removed = 0
        before = time.time() - older_than
        for digest in digests:
            for suffix in SUFFIXES:
                uri = self.location(digest, suffix)
                try:
                    if self.s3.head(uri).modified > before:
                        continue
                except RemoteMissing:
                    continue
                self.s3.remove(uri)
                removed += 1
                self._counted(-1)
        return removed

    def probe(self) -> None:
        uri = f"s3://{self.bucket}/{self.prefix}{PROBE}"
        self.s3.write(uri, b"ok")
        self.s3.remove(uri)


def copy_objects(source: FolderObjects, target: ObjectStore, scratch: Path) -> tuple[int, int]:
    """Put every object of the folder ``source`` that ``target`` lacks into it (moving an
    embedded hub's files to the store hubs share); (objects copied, their bytes). Each goes
    through a copy in ``scratch``, since putting moves the file it is given."""
    copied = size = 0
    scratch.mkdir(parents=True, exist_ok=True)
    for path in sorted(source._paths()):
        if path.name.endswith(".part"):
            continue
        digest, dot, rest = path.name.partition(".")
        suffix = dot + rest
        if target.exists(digest, suffix):
            continue
        staged = scratch / f"copy-{digest}{suffix}"
        shutil.copyfile(path, staged)
        target.put(staged, suffix)
        copied, size = copied + 1, size + path.stat().st_size
    return copied, size


__all__ = [
    "BucketObjects",
    "FolderObjects",
    "ObjectStore",
    "RemoteError",
    "copy_objects",
    "sha256_of",
]
