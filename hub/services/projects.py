"""Projects and experiments: listing and creating."""

from __future__ import annotations

from hub.clock import now
from hub.errors import NotFound
from hub.ids import new_id
from hub.services import permissions
from hub.services.limits import check_name
from hub.services.principal import Principal
from hub.store import Store
from hub.store.records import ExperimentRecord, ProjectRecord


async def list_projects(store: Store, principal: Principal) -> list[ProjectRecord]:
    """Projects the principal may read, by name."""
    projects = await store.projects.all()
    return [p for p in projects if permissions.can_read_project(principal, p.id)]


async def get_project(store: Store, principal: Principal, name: str) -> ProjectRecord:
    project = await store.projects.by_name(name)
    if project is None or not permissions.can_read_project(principal, project.id):
        raise NotFound(f"No project named {name!r}. Check the spelling or ask for access.")
    return project


async def ensure_project(
    store: Store, principal: Principal, name: str, description: str = ""
) -> ProjectRecord:
    """The project called ``name``, created first if the principal may create projects."""
    name = check_name(name, "project")
    existing = await store.projects.by_name(name)
    if existing is not None:
        permissions.require_write(principal, existing.id, f"project named {name!r}")
        return existing
    if not permissions.can_create_project(principal):
        raise NotFound(f"No project named {name!r}; ask an admin to create it.")
    record = ProjectRecord(new_id(), name, description, now(), principal.user_name)
    return await store.projects.create(record)


async def ensure_experiment(
    store: Store, principal: Principal, project: ProjectRecord, name: str, description: str = ""
) -> ExperimentRecord:
    """The project's experiment called ``name``, created first when missing."""
    name = check_name(name, "experiment")
    permissions.require_write(principal, project.id, f"project named {project.name!r}")
    existing = await store.projects.experiment_by_name(project.id, name)
    if existing is not None:
        return existing
    record = ExperimentRecord(new_id(), project.id, name, description, now(), principal.user_name)
    return await store.projects.create_experiment(record)


async def experiments(
    store: Store, principal: Principal, project: ProjectRecord
) -> list[ExperimentRecord]:
    permissions.require_read(principal, project.id, "project")
    return await store.projects.experiments([project.id])
