"""Where a hub keeps the secrets it must not lose and every hub serving the same data must hold
alike: its signing keys (``keys/<kid>.json``), the secrets of its cookies and of the dashboard's
client, and the signed audit checkpoint.

An embedded hub keeps them as files in its data folder (mode 600, copied by backups). Hubs that
share a database keep them in it (``hub_secrets``), so that a token, a cookie or a sign-in made
at one hub is good at every other, whatever machine and data folder each runs with.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from hub.store import Store


class Keep(Protocol):
    def get(self, name: str) -> str | None: ...

    def keep(self, name: str, value: str) -> str:
        """Store ``value`` unless ``name`` holds one already; returns the stored value."""
        ...

    def put(self, name: str, value: str) -> None: ...

    def remove(self, name: str) -> None: ...

    def named(self, prefix: str) -> list[tuple[str, str]]:
        """(name, value) of everything kept under ``prefix``, by name."""
        ...


class FolderKeep:
    """Secrets as files under ``root`` (mode 600, folders 700); ``keys/x.json`` is a file in
    the folder ``keys``. A file is replaced whole, so a reader never sees half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        parts = name.split("/")
        if not name or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a name for a kept secret: {name!r}")
        return self.root.joinpath(*parts)

    def get(self, name: str) -> str | None:
        path = self._path(name)
        if not path.is_file():
            return None
        return path.read_text().strip() or None

    def keep(self, name: str, value: str) -> str:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            kept = self.get(name)
            if kept:
                return kept
            self.put(name, value)  # an empty file, left by a crash while it was written
            return value
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value

    def put(self, name: str, value: str) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        os.replace(staging, path)

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def named(self, prefix: str) -> list[tuple[str, str]]:
        folder, _, start = prefix.rpartition("/")
        where = self._path(folder) if folder else self.root
        if not where.is_dir():
            return []
        found = []
        for path in sorted(where.iterdir()):
            if path.is_file() and path.name.startswith(start) and not path.name.startswith("."):
                name = f"{folder}/{path.name}" if folder else path.name
                found.append((name, path.read_text().strip()))
        return found


def keep_for(store: Store, data_dir: Path) -> Keep:
    """The hub's keep: the shared database's when other hubs may use it, else its folder."""
    return store.secrets if store.shared else FolderKeep(data_dir)


def secret(keep: Keep, name: str, size: int = 32) -> str:
    """The random secret kept under ``name``, made at first use (by whichever hub is first)."""
    return keep.get(name) or keep.keep(name, secrets.token_urlsafe(size))


def copy_secrets(source: Keep, target: Keep) -> int:
    """Put everything ``source`` keeps into ``target`` (moving an embedded hub onto a shared
    database: its keys still verify what it signed, its cookies stay good); how many."""
    names = ("keys/", "cookie-secret", "dashboard-", "audit-checkpoint")
    items = [item for prefix in names for item in source.named(prefix)]
    for name, value in items:
        target.put(name, value)
    return len(items)
