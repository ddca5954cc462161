"""The objects people discuss and watch, found by kind and id with the caller's access.

A target is visible exactly when the object itself is: its project must be readable and, for
a restricted dataset (or one of its versions), the caller must be in one of its groups.
Otherwise it does not exist for them.
"""

from __future__ import annotations

import dataclasses

from hub.domain.tracking import ProjectRecord
from hub.services.policy import access, audit, permissions
from hub.services.policy.permissions import READ, Access
from hub.services.policy.principal import Principal
from hub.store import Store

KINDS = (
    "project",
    "experiment",
    "run",
    "dataset",
    "dataset_version",
    "task",
    "page",
    "model",
    "model_version",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """An object the principal may see, in words (``title``) and with their access."""

    kind: str
    id: str
    project: ProjectRecord
    access: Access
    title: str
    guard: tuple[str, str] | None = None  # the restrictable object deciding who sees it

    @property
    def ref(self) -> tuple[str, str]:
        return self.kind, self.id


async def _locate(
    store: Store, kind: str, object_id: str
) -> tuple[str, str, tuple[str, str] | None] | None:
    """(project id, title, guard) of an object, or None when there is no such object."""
    if kind == "project":
        project = (await store.projects.by_ids([object_id])).get(object_id)
        return (project.id, f"project {project.name}", None) if project else None
    if kind == "experiment":
        experiment = (await store.projects.experiments_by_ids([object_id])).get(object_id)
        return (
            (experiment.project_id, f"experiment {experiment.name}", None) if experiment else None
        )
    if kind == "run":
        run = (await store.runs.by_ids([object_id])).get(object_id)
        return (run.project_id, f"run {run.name}", None) if run else None
    if kind == "dataset":
        dataset = (await store.datasets.by_ids([object_id])).get(object_id)
        return (
            (dataset.project_id, f"dataset {dataset.name}", ("dataset", dataset.id))
            if dataset
            else None
        )
    if kind == "dataset_version":
        version = (await store.datasets.versions_by_ids([object_id])).get(object_id)
        if version is None:
            return None
        dataset = (await store.datasets.by_ids([version.dataset_id]))[version.dataset_id]
        title = f"dataset {dataset.name} version {version.number}"
        return version.project_id, title, ("dataset", dataset.id)
    if kind == "task":
        task = await store.tasks.by_id(object_id)
        return (task.project_id, f"task #{task.number} {task.title}", None) if task else None
    if kind == "page":
        page = await store.pages.by_id(object_id)
        what = "notebook" if page and page.kind == "notebook" else "page"
        return (page.project_id, f"{what} {page.title}", None) if page else None
    if kind == "model":
        model = (await store.models.by_ids([object_id])).get(object_id)
        return (model.project_id, f"model {model.name}", None) if model else None
    if kind == "model_version":
        registered = (await store.models.versions_by_ids([object_id])).get(object_id)
        if registered is None:
            return None
        model = (await store.models.by_ids([registered.model_id]))[registered.model_id]
        return registered.project_id, f"model {model.name} version {registered.number}", None
    return None


async def find(
    store: Store,
    principal: Principal,
    kind: str,
    object_id: str,
    needed: str = READ,
    *,
    action: str,
) -> Target:
    """The object when the principal may see it and holds ``needed`` on its project; NotFound
    (no such object, or not theirs to see) or Forbidden (too weak a role) otherwise."""
    what = f"{kind.replace('_', ' ')} with id {object_id!r}"
    located = await _locate(store, kind, object_id) if kind in KINDS else None
    if located is None:
        await audit.deny(store, principal, action, kind, object_id)
        raise permissions.not_found(what)
    project_id, title, guard = located
    held = await permissions.access_to(store, principal, project_id)
    if guard is not None and guard[1] not in await access.visible_objects(
        store, principal, project_id, guard[0], [guard[1]], held
    ):
        held = None  # a restricted dataset outside their groups does not exist for them
    held = await permissions.demand(
        store,
        principal,
        project_id,
        held,
        needed,
        action=action,
        object_kind=kind,
        object_id=object_id,
        what=what,
    )
    project = (await store.projects.by_ids([project_id]))[project_id]
    return Target(kind, object_id, project, held, title, guard)


async def hidden(
    store: Store, principal: Principal, held: dict[str, Access]
) -> list[tuple[str, str]]:
    """Restricted objects of these projects (id → the principal's access) that the principal
    may not see: what feeds, inboxes and comment lists must leave out."""
    restricted = await store.access.restrictions_in(sorted(held))
    return [
        (kind, object_id)
        for (project_id, kind, object_id), groups in restricted.items()
        if not permissions.can_see_restricted(principal, held[project_id], groups)
    ]
