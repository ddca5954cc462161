"""The object store's count (``salon_object_files``) stays right without walking the folder."""

from __future__ import annotations

from pathlib import Path

from hub.store.objects import ObjectStore


def _file(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def test_the_count_follows_puts_repeats_and_sweeps(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    objects = ObjectStore(root)
    assert objects.count() == 0
    kept, _ = objects.put(_file(tmp_path, "a", b"alpha"))
    objects.put(_file(tmp_path, "b", b"alpha"))  # the same content is kept once
    dropped, _ = objects.put(_file(tmp_path, "c", b"gamma"), "")
    assert objects.count() == 2
    (root / kept[:2] / "left-by-a-crash.part").write_bytes(b"half")
    assert ObjectStore(root).count() == 2, "a fresh count skips half-moved files"
    assert objects.sweep({kept}) == 2  # the unreferenced object and the .part file
    assert objects.count() == 1 == ObjectStore(root).count()
    assert not objects.exists(dropped, "")
