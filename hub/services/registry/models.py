"""The model registry: models, versions registered from runs, aliases such as ``production``,
the promotion policy guarding them, reviewers' verdicts, and the gate that says whether an
alias may move. This module finds and reads; ``registration`` registers versions and sets
policies, ``promotion`` holds the gate, alias moves and reviews.

Rights: readers of a project see its models; editors register versions, create models, re-run
checks and move unprotected aliases; commenters and up approve or request changes (never on a
version they registered themselves); maintainers set the policy and move protected aliases, and
only when the version's gate is open. Nobody, a site admin included, moves a protected alias past
a closed gate: the policy is changed instead, in the open, and applies to versions registered
after the change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hub.domain.registry import (
    ModelAlias,
    ModelRecord,
    ModelVersionRecord,
    Policy,
)
from hub.domain.tracking import ProjectRecord
from hub.errors import NotFound
from hub.services.data import datasets
from hub.services.policy import audit, permissions
from hub.services.policy.permissions import READ, Access
from hub.services.policy.principal import Principal
from hub.services.tracking import runs
from hub.store import Store

MAX_INPUTS = 2000


MAX_REVIEW = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class FoundModel:
    model: ModelRecord
    project: ProjectRecord
    access: Access


async def find(
    store: Store, principal: Principal, project: str, name: str, needed: str, action: str
) -> FoundModel:
    found = await datasets.find_project(store, principal, project, action)
    model = await store.models.named(found.project.id, name.strip())
    if model is None:
        await audit.deny(store, principal, action, "model", None, found.project.id)
        raise permissions.not_found(f"model named {name!r} in {project}", field="name")
    held = await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        needed,
        action=action,
        object_kind="model",
        object_id=model.id,
    )
    return FoundModel(model, found.project, held)


async def find_version(
    store: Store, principal: Principal, version_id: str, needed: str, action: str
) -> tuple[ModelVersionRecord, FoundModel]:
    version = (await store.models.versions_by_ids([version_id])).get(version_id)
    held = (
        None
        if version is None
        else await permissions.access_to(store, principal, version.project_id)
    )
    if version is None or held is None:
        await audit.deny(store, principal, action, "model_version", version_id)
        raise permissions.not_found(f"model version with id {version_id!r}")
    held = await permissions.demand(
        store,
        principal,
        version.project_id,
        held,
        needed,
        action=action,
        object_kind="model_version",
        object_id=version_id,
    )
    model = (await store.models.by_ids([version.model_id]))[version.model_id]
    project = (await store.projects.by_ids([version.project_id]))[version.project_id]
    return version, FoundModel(model, project, held)


async def numbered(store: Store, found: FoundModel, number: int) -> ModelVersionRecord:
    """Version ``number`` of a model the caller has been allowed to see."""
    version = next(
        (v for v in await store.models.versions(found.model.id) if v.number == number), None
    )
    if version is None:
        raise NotFound(f"Model {found.model.name} has no version {number}.", field="version")
    return version


async def policy(store: Store, model: ModelRecord) -> Policy:
    return await store.models.policy(model.id)


async def of_project(store: Store, principal: Principal, project: str) -> list[ModelRecord]:
    found = await datasets.find_project(store, principal, project, "model.list")
    models = await store.models.of_project(found.project.id)
    await audit.read(
        store, principal, "model.list", "project", found.project.id, found.project.id, len(models)
    )
    return models


async def read(store: Store, principal: Principal, project: str, name: str) -> FoundModel:
    found = await find(store, principal, project, name, READ, "model.read")
    await audit.read(store, principal, "model.read", "model", found.model.id, found.project.id, 1)
    return found


async def read_version(
    store: Store, principal: Principal, version_id: str
) -> tuple[ModelVersionRecord, FoundModel]:
    version, found = await find_version(store, principal, version_id, READ, "model.read")
    await audit.read(
        store, principal, "model.read", "model_version", version.id, version.project_id, 1
    )
    return version, found


async def of_run(store: Store, principal: Principal, run_id: str) -> list[ModelVersionRecord]:
    """The model versions registered from a run the principal may read: its lineage onward."""
    (run,) = await runs.visible_runs(store, principal, [run_id], "model.read")
    found = await store.models.versions_of_runs([run.id])
    await audit.read(store, principal, "model.read", "run", run.id, run.project_id, len(found))
    return found


def aliases_by_version(aliases: Sequence[ModelAlias]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for alias in aliases:
        found.setdefault(alias.version_id, []).append(alias.alias)
    return found
