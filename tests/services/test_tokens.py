"""The admin token `salon up` keeps in the data directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.services.identity.tokens import local_admin_token_sync, principal_for_token
from hub.store import Store


def test_salon_up_keeps_one_token_across_restarts(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    first = local_admin_token_sync(store, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().strip() == first
    assert local_admin_token_sync(store, path) == first
    principal = asyncio.run(principal_for_token(store, first))
    assert principal.is_admin


def test_a_kept_token_that_is_not_valid_is_replaced(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    path.write_text("salon_not-a-token-this-store-knows\n")
    token = local_admin_token_sync(store, path)
    assert token != "salon_not-a-token-this-store-knows"
    assert path.read_text().strip() == token
