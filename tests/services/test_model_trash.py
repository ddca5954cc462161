"""Registered models and their versions in the trash, on both backends: an alias keeps its
version out, a trashed model gives its name up to a new one (as MLflow frees a deleted model's
name) and can still come back, a purge leaves no row of it."""

from __future__ import annotations

import pytest

from hub.errors import AlreadyExists, Conflict
from hub.services.lifecycle import trash
from hub.services.policy.principal import SYSTEM
from hub.services.registry import models, promotion, registration
from hub.services.tracking import runs
from hub.store import Store
from tests.services.helpers import run


def test_model_versions_and_models_go_to_the_trash_and_come_back(store: Store) -> None:
    made = run(runs.create_run(store, SYSTEM, runs.NewRun("vision", "e", name="train")))
    model, first, _ = run(registration.register(store, SYSTEM, made.id, "detector", "model.onnx"))
    _, second, _ = run(registration.register(store, SYSTEM, made.id, "detector", "model.onnx"))
    run(promotion.move_alias(store, SYSTEM, "vision", "detector", "champion", 1))

    with pytest.raises(Conflict, match="alias 'champion' points at it"):
        run(trash.move_to_trash(store, SYSTEM, "model_version", first.id))
    entry = run(trash.move_to_trash(store, SYSTEM, "model_version", second.id))
    assert entry.label == "detector v2"
    assert [v.number for v in run(store.models.versions(model.id))] == [1]
    run(trash.restore(store, SYSTEM, entry.id))
    assert [v.number for v in run(store.models.versions(model.id))] == [2, 1]

    whole = run(trash.move_to_trash(store, SYSTEM, "model", model.id))
    assert dict(whole.holds) == {"model": 1, "model_version": 2}
    assert run(models.of_project(store, SYSTEM, "vision")) == []
    fresh = run(registration.create_model(store, SYSTEM, "vision", "detector"))
    assert fresh.id != model.id
    with pytest.raises(AlreadyExists, match="There is a model named 'detector' in vision already"):
        run(registration.create_model(store, SYSTEM, "vision", "detector"))
    # The trashed model stepped aside under a name of its own, and still comes back.
    run(trash.restore(store, SYSTEM, whole.id))
    back = {m.id: m.name for m in run(models.of_project(store, SYSTEM, "vision"))}
    assert back == {fresh.id: "detector", model.id: f"detector (trashed {model.id[:8]})"}
    whole = run(trash.move_to_trash(store, SYSTEM, "model", model.id))
    run(trash.purge(store, SYSTEM, whole.id, recent=0))
    left = store.db.read_sync(
        lambda cur: [
            cur.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [model.id]).fetchone()[
                0
            ]
            for table, column in (
                ("models", "id"),
                ("model_versions", "model_id"),
                ("model_aliases", "model_id"),
                ("model_alias_moves", "model_id"),
            )
        ]
    )
    assert left == [0, 0, 0, 0]
    again, version, _ = run(registration.register(store, SYSTEM, made.id, "detector", "m.onnx"))
    assert again.id == fresh.id and version.number == 1
