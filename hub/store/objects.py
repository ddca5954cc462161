"""Content-addressed objects: files stored once under ``<data dir>/objects/ab/<sha256>``."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ObjectStore:
    """Immutable files named by their SHA-256: identical content is kept once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._count: int | None = None  # counted on first ask, then kept by put and sweep

    def count(self) -> int:
        """How many objects are stored. The folder is walked once; after that put and sweep
        keep the number, so that a metrics scrape every few seconds costs nothing."""
        with self._lock:
            if self._count is None:
                found = self.root.glob("*/*") if self.root.is_dir() else ()
                self._count = sum(1 for path in found if not path.name.endswith(".part"))
            return self._count

    def _counted(self, change: int) -> None:
        with self._lock:
            if self._count is not None:
                self._count += change

    def path(self, digest: str, suffix: str = ".parquet") -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / f"{digest}{suffix}"

    def put(self, source: Path, suffix: str = ".parquet") -> tuple[str, int]:
        """Move ``source`` into the store (or drop it when the content is there already);
        returns its digest and size. The move is atomic, so a reader never sees half a file."""
        digest = sha256_of(source)
        target = self.path(digest, suffix)
        size = source.stat().st_size
        if target.exists():
            source.unlink()
            return digest, size
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_suffix(target.suffix + ".part")
        shutil.move(str(source), staging)
        os.chmod(staging, 0o440)
        with self._lock:
            new = not target.exists()  # another thread may have stored the same content
            os.replace(staging, target)
            if new and self._count is not None:
                self._count += 1
        return digest, size

    def exists(self, digest: str, suffix: str = ".parquet") -> bool:
        return self.path(digest, suffix).exists()

    def sweep(self, keep: set[str]) -> int:
        """Delete objects no version refers to (left by an upload interrupted between storing
        its object and recording its version) and half-moved ``.part`` files; returns how
        many. Run only while nothing uploads (at start-up)."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.glob("*/*"):
            digest = path.name.split(".", 1)[0]
            if path.name.endswith(".part") or digest not in keep:
                path.unlink(missing_ok=True)
                removed += 1
                if not path.name.endswith(".part"):
                    self._counted(-1)
        return removed
