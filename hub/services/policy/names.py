"""What the records a result points at by id are: people, groups, projects, models, datasets.

Edges show results the services already let the caller read (a task, a review queue, a model
version); the records those point at by id are looked up here, in one query per kind for a whole
page, rather than by the edge reading the store. Ids of what is gone are left out of the maps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hub.domain.data import DatasetRecord, DatasetVersionRecord
from hub.domain.identity import UserRecord
from hub.domain.registry import ModelRecord, ModelVersionRecord
from hub.domain.tracking import ProjectRecord
from hub.services.policy.principal import SYSTEM
from hub.store import Store


async def people(store: Store, user_ids: Iterable[str]) -> dict[str, UserRecord]:
    return await store.users.by_ids(sorted(set(user_ids)))


async def projects(store: Store, project_ids: Iterable[str]) -> dict[str, ProjectRecord]:
    return await store.projects.by_ids(sorted(set(project_ids)))


async def models(store: Store, model_ids: Iterable[str]) -> dict[str, ModelRecord]:
    return await store.models.by_ids(sorted(set(model_ids)))


async def model_versions(store: Store, version_ids: Iterable[str]) -> dict[str, ModelVersionRecord]:
    return await store.models.versions_by_ids(sorted(set(version_ids)))


async def datasets(store: Store, dataset_ids: Iterable[str]) -> dict[str, DatasetRecord]:
    return await store.datasets.by_ids(sorted(set(dataset_ids)))


async def dataset_versions(
    store: Store, version_ids: Iterable[str]
) -> dict[str, DatasetVersionRecord]:
    return await store.datasets.versions_by_ids(sorted(set(version_ids)))


async def people_and_projects(
    store: Store, user_ids: Iterable[str], project_ids: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Sign-in names by user id and names by project id."""
    found_people = await people(store, user_ids)
    found_projects = await projects(store, project_ids)
    return (
        {i: user.name for i, user in found_people.items()},
        {i: project.name for i, project in found_projects.items()},
    )


async def people_and_groups(store: Store, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(name, display name) of people and groups by id, as comments and mentions show them;
    Salon itself (start-up work, the demo loader) is "Salon"."""
    wanted = set(ids)
    users, groups = await asyncio.gather(people(store, wanted), store.users.groups())
    found = {i: (u.name, u.display_name) for i, u in users.items()}
    found[SYSTEM.user_id] = (SYSTEM.user_name, "Salon")
    found.update({g.id: (g.name, g.name) for g in groups if g.id in wanted})
    return found
