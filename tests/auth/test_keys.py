"""The signing keys: a key added elsewhere (another hub, `salon keys rotate`) is found when a
token names it, and made-up key ids cannot make the hub re-read its keys more than once a
second."""

from __future__ import annotations

import time
from pathlib import Path

from hub.auth.keys import KEEP, KeyRing
from hub.services.policy.keep import FolderKeep


def test_a_key_added_elsewhere_is_found_when_a_token_names_it(tmp_path: Path) -> None:
    keep = FolderKeep(tmp_path)
    ring = KeyRing(keep)
    ring.reload()  # a periodic reload, just now: it does not hold the next lookup back
    elsewhere = KeyRing(keep, create=False)
    added = elsewhere.rotate()
    assert added not in ring.kids
    assert ring.look_for(added), "found at once"
    assert ring.signing_key.kid == added, "and the newest key signs from now on"

    again = elsewhere.rotate()
    assert not ring.look_for("made-up-kid")  # a guess: this lookup reloads...
    assert not ring.look_for(again), "...and the next one within a second does not"
    time.sleep(1.1)
    assert ring.look_for(again)


def test_rotation_keeps_the_newest_keys_only(tmp_path: Path) -> None:
    ring = KeyRing(FolderKeep(tmp_path))
    first = ring.signing_key.kid
    kids = [ring.rotate() for _ in range(KEEP + 1)]
    assert ring.kids == frozenset(kids[-KEEP:]) and first not in ring.kids
    assert sorted(path.stem for path in (tmp_path / "keys").glob("*.json")) == kids[-KEEP:]
