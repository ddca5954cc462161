"""The secrets hubs keep alike: in the shared database, or as files in an embedded hub's folder."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from hub.services.policy.keep import FolderKeep, Keep, copy_secrets, secret
from hub.store import Store, open_store
from hub.store.backends import Shared
from tests.conftest import shared_database


@pytest.fixture(params=["folder", "database"])
def keep(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Keep:
    return FolderKeep(tmp_path / "kept") if request.param == "folder" else store.secrets


def test_the_first_value_kept_stays_and_put_replaces_it(keep: Keep) -> None:
    assert keep.get("cookie-secret") is None
    assert keep.keep("cookie-secret", "first") == "first"
    assert keep.keep("cookie-secret", "second") == "first", "a later start uses the first one"
    assert secret(keep, "cookie-secret") == "first"
    keep.put("cookie-secret", "rotated")
    assert keep.get("cookie-secret") == "rotated"
    keep.remove("cookie-secret")
    assert keep.get("cookie-secret") is None


def test_names_under_a_prefix_come_in_name_order(keep: Keep) -> None:
    for kid in ("0193-c", "0193-a", "0193-b"):
        keep.put(f"keys/{kid}.json", kid)
    keep.put("keyser", "not a key")
    assert [value for _, value in keep.named("keys/")] == ["0193-a", "0193-b", "0193-c"]
    assert keep.named("keys/")[0][0] == "keys/0193-a.json"


def test_a_folder_keeps_secrets_readable_by_its_owner_only(tmp_path: Path) -> None:
    keep = FolderKeep(tmp_path)
    made = secret(keep, "dashboard-client-secret")
    keep.put("keys/k1.json", "{}")
    for path in (tmp_path / "dashboard-client-secret", tmp_path / "keys" / "k1.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert (tmp_path / "dashboard-client-secret").read_text().strip() == made
    for bad in ("", "../escape", "keys/../../x", "/etc/passwd"):
        with pytest.raises(ValueError):
            keep.put(bad, "x")


def test_hubs_starting_together_agree_on_one_secret(postgres_cluster: str, tmp_path: Path) -> None:
    url = shared_database(postgres_cluster)
    hubs = [
        open_store(Shared(url), data_dir=tmp_path / str(n), object_store=str(tmp_path / "objects"))
        for n in range(3)
    ]
    got: list[str] = []
    try:
        threads = [
            threading.Thread(target=lambda s=s: got.append(secret(s.secrets, "cookie-secret")))
            for s in hubs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for store in hubs:
            store.close()
    assert len(got) == 3 and len(set(got)) == 1, got


def test_copying_takes_keys_secrets_and_checkpoint_only(tmp_path: Path, store: Store) -> None:
    source = FolderKeep(tmp_path)
    for name in (
        "keys/k1.json",
        "cookie-secret",
        "dashboard-client-secret",
        "audit-checkpoint.jws",
    ):
        source.put(name, name.upper())
    source.put("demo-password", "stays on the machine")
    assert copy_secrets(source, store.secrets) == 4
    assert store.secrets.get("keys/k1.json") == "KEYS/K1.JSON"
    assert store.secrets.get("demo-password") is None
