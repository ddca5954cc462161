"""Registered models and their versions in the trash, on both backends: an alias keeps its
version out, a trashed model keeps its name, a purge leaves no row of it."""

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
    with pytest.raises(Conflict, match="'detector' is in the trash"):
        run(registration.register(store, SYSTEM, made.id, "detector", "model.onnx"))
    with pytest.raises(AlreadyExists, match="in the trash already"):
        run(registration.create_model(store, SYSTEM, "vision", "detector"))
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
    assert again.id != model.id and version.number == 1
