"""Projects and experiments: listing, creating, renaming experiments and tagging them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.identity import MembershipRecord
from hub.domain.tracking import ExperimentRecord, ProjectRecord
from hub.errors import NotFound
from hub.ids import new_id
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import MAX_TAG_VALUE, MAX_TAGS_PER_CALL, check_name, check_pairs
from hub.services.policy.permissions import READ, WRITE
from hub.services.policy.principal import Principal
from hub.store import Store


async def list_projects(store: Store, principal: Principal) -> list[ProjectRecord]:
    """Projects the principal may read, by name."""
    projects = await store.projects.all()
    readable = await permissions.readable_projects(store, principal, [p.id for p in projects])
    shown = [p for p in projects if p.id in readable]
    await audit.read(store, principal, "projects.list", "project", None, None, len(shown))
    return shown


@dataclasses.dataclass(frozen=True, slots=True)
class OutOfReach:
    """What someone who sees few projects (or none) needs to know to ask for more: how many
    others there are (never their names) and who can grant a role."""

    hidden_projects: int
    site_admins: list[str]


async def out_of_reach(store: Store, principal: Principal) -> OutOfReach:
    projects = await store.projects.all()
    readable = await permissions.readable_projects(store, principal, [p.id for p in projects])
    admins = sorted(u.name for u in await store.users.all() if u.is_admin and not u.disabled_at)
    hidden = len(projects) - len(readable)
    await audit.read(store, principal, "projects.out_of_reach", "project", None, None, hidden)
    return OutOfReach(hidden, admins)


async def run_counts(store: Store, project_ids: list[str]) -> dict[str, int]:
    """How many runs each project holds, for projects already listed to the caller."""
    return await store.projects.run_counts(project_ids)


async def visible_project(store: Store, principal: Principal, name: str) -> ProjectRecord:
    """The project called ``name`` if the principal may read it (not audited: callers record
    what they then read)."""
    project = await store.projects.by_name(name)
    if project is None:
        await audit.deny(store, principal, "project.read", "project")
        raise permissions.not_found(f"project named {name!r}")
    await permissions.require(
        store,
        principal,
        project.id,
        READ,
        action="project.read",
        object_kind="project",
        object_id=project.id,
        what=f"project named {name!r}",
    )
    return project


async def get_project(store: Store, principal: Principal, name: str) -> ProjectRecord:
    project = await visible_project(store, principal, name)
    await audit.read(store, principal, "project.read", "project", project.id, project.id, 1)
    return project


async def writable_project(store: Store, principal: Principal, name: str) -> ProjectRecord | None:
    """The project called ``name`` when the principal may write in it, None when there is no
    such project and they may create it; NotFound or Forbidden (audited) otherwise. Creates
    nothing: an upload asks this before it reads its body."""
    name = check_name(name, "project")
    existing = await store.projects.by_name(name)
    if existing is not None:
        await permissions.require(
            store,
            principal,
            existing.id,
            WRITE,
            action="run.create",
            object_kind="project",
            object_id=existing.id,
            what=f"project named {name!r}",
        )
        return existing
    if not permissions.can_create_project(principal):
        await audit.deny(store, principal, "project.create", "project")
        raise NotFound(f"No project named {name!r}; this token may not create projects.")
    return None


async def ensure_project(
    store: Store, principal: Principal, name: str, description: str = ""
) -> ProjectRecord:
    """The project called ``name``, created first (with the principal as its admin) when it
    does not exist and the principal may create projects."""
    existing = await writable_project(store, principal, name)
    if existing is not None:
        return existing
    name = check_name(name, "project")
    record = ProjectRecord(new_id(), name, description, now(), principal.user_name)
    owner = None
    if principal.user_id != "system":
        owner = MembershipRecord(
            record.id,
            "user",
            principal.user_id,
            "admin",
            True,
            principal.user_id,
            record.created_at,
        )
    events: list[EventDraft] = [
        audit.event(principal, "project.create", "project", record.id, record.id, rows=1),
        feed.entry(
            principal, "project.create", "project", record.id, record.id, f"created project {name}"
        ),
    ]
    return await store.projects.create(record, owner, audit=events)


async def ensure_experiment(
    store: Store, principal: Principal, project: ProjectRecord, name: str, description: str = ""
) -> ExperimentRecord:
    """The project's experiment called ``name``, created first when missing."""
    name = check_name(name, "experiment")
    await permissions.require(
        store,
        principal,
        project.id,
        WRITE,
        action="experiment.create",
        object_kind="experiment",
        what=f"project named {project.name!r}",
    )
    existing = await store.projects.experiment_by_name(project.id, name)
    if existing is not None:
        return existing
    record = ExperimentRecord(new_id(), project.id, name, description, now(), principal.user_name)
    events = [audit.event(principal, "experiment.create", "experiment", record.id, project.id)]
    return await store.projects.create_experiment(record, audit=events)


async def experiments(
    store: Store, principal: Principal, project: ProjectRecord
) -> list[ExperimentRecord]:
    await permissions.require(
        store,
        principal,
        project.id,
        READ,
        action="experiments.list",
        object_kind="project",
        object_id=project.id,
    )
    found = await store.projects.experiments([project.id])
    await audit.read(
        store, principal, "experiments.list", "project", project.id, project.id, len(found)
    )
    return found


async def _writable_experiment(
    store: Store, principal: Principal, experiment: ExperimentRecord, action: str
) -> None:
    await permissions.require(
        store,
        principal,
        experiment.project_id,
        WRITE,
        action=action,
        object_kind="experiment",
        object_id=experiment.id,
        what="experiment",
    )


async def rename_experiment(
    store: Store, principal: Principal, experiment: ExperimentRecord, name: str
) -> ExperimentRecord:
    """Give the experiment another name in its project (editors)."""
    name = check_name(name, "experiment")
    await _writable_experiment(store, principal, experiment, "experiment.rename")
    events = [
        audit.event(
            principal, "experiment.rename", "experiment", experiment.id, experiment.project_id
        )
    ]
    return await audit.change(
        store, events, store.projects.rename_experiment(experiment.id, name, audit=events)
    )


async def set_experiment_tags(
    store: Store, principal: Principal, experiment: ExperimentRecord, tags: Mapping[str, str]
) -> None:
    """Set (or overwrite) tags on the experiment (editors)."""
    checked = check_pairs(tags.items(), "tag", MAX_TAG_VALUE, MAX_TAGS_PER_CALL)
    await _writable_experiment(store, principal, experiment, "experiment.set_tags")
    events = [
        audit.event(
            principal,
            "experiment.set_tags",
            "experiment",
            experiment.id,
            experiment.project_id,
            rows=len(checked),
        )
    ]
    await audit.change(
        store, events, store.projects.set_experiment_tags(experiment.id, checked, audit=events)
    )


async def delete_experiment_tag(
    store: Store, principal: Principal, experiment: ExperimentRecord, key: str
) -> None:
    """Remove one tag from the experiment (editors); NotFound when it has none."""
    await _writable_experiment(store, principal, experiment, "experiment.delete_tag")
    events = [
        audit.event(
            principal, "experiment.delete_tag", "experiment", experiment.id, experiment.project_id
        )
    ]
    await audit.change(
        store, events, store.projects.delete_experiment_tag(experiment.id, key, audit=events)
    )


async def experiment_tags(
    store: Store, experiments: list[ExperimentRecord]
) -> dict[str, list[tuple[str, str]]]:
    """The tags of experiments the caller has been allowed to read already."""
    return await store.projects.experiment_tags([e.id for e in experiments])
