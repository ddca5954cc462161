"""Readiness on both backends: a hub whose database a newer Salon has migrated says it is not
ready, so that load balancers send its requests to the upgraded hubs."""

from __future__ import annotations

import asyncio

from hub.services.operations import health
from hub.store import Store


def test_a_database_a_newer_salon_migrated_makes_an_older_hub_not_ready(store: Store) -> None:
    checks = {c.name: c for c in asyncio.run(health.readiness(store))}
    assert checks["database"].ok and checks["objects"].ok
    newer = store.schema_version + 1
    asyncio.run(
        store.db.write(
            lambda cur: cur.execute(
                "INSERT INTO schema_migrations VALUES (?, 'from_the_future', now()::TIMESTAMP, "
                "'9.9')",
                [newer],
            )
        )
    )
    database = next(c for c in asyncio.run(health.readiness(store)) if c.name == "database")
    assert not database.ok
    assert f"migration {newer:03d}" in database.detail and "upgrade" in database.detail
