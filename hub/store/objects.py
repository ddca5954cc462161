"""Content-addressed objects: files stored once under ``<data dir>/objects/ab/<sha256>``."""

from __future__ import annotations

import hashlib
import os
import shutil
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
        os.replace(staging, target)
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
        return removed
