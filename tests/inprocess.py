"""An in-process hub (Starlette's TestClient) over a real DuckDB file; fixtures in conftest."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from hub.app import create_app
from hub.services.identity.tokens import create_admin_token_sync
from hub.settings import Settings
from hub.store import Store, store_for
from tests.demo_store import DEMO_PASSWORD, with_store

__all__ = ["DEMO_PASSWORD", "InProcessHub", "in_process_hub"]


@dataclasses.dataclass
class InProcessHub:
    http: TestClient
    token: str
    store: Store
    settings: Settings

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, expect_errors: bool = False
    ) -> dict[str, Any]:
        """Run an operation; fails on ``errors`` unless the test expects them."""
        response = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.auth
        )
        body: dict[str, Any] = response.json()
        if expect_errors:
            assert body.get("errors"), f"expected errors, got {body}"
        else:
            assert not body.get("errors"), body.get("errors")
            assert response.status_code == 200
        return body


def in_process_hub(data_dir: Path, demo: bool, **settings: Any) -> Iterator[InProcessHub]:
    with_store(data_dir, demo=demo, database_url=settings.get("database_url", ""))
    config = Settings(data_dir=data_dir, **settings)
    store = store_for(config)
    token = create_admin_token_sync(store, "tests")
    try:
        with TestClient(create_app(config, store), raise_server_exceptions=False) as http:
            yield InProcessHub(http, token, store, config)
    finally:
        store.close()
