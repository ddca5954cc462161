"""Tasks: title, description, assignee, due date, status and labels, linked to the runs,
datasets and other objects they are about; a board per project and "my work" per person.

Commenters and up create tasks and move them; links are only to objects the person can see,
and a reader only sees the links they may see. A task linked to a run can close itself when
the run finishes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.collaboration import TASK_STATUSES, TaskRecord
from hub.domain.tracking import RunRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.services.collaboration import targets
from hub.services.collaboration.markdown import plain
from hub.services.data import datasets
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.permissions import COMMENT, READ
from hub.services.policy.principal import SYSTEM, Principal
from hub.store import Store

MAX_DESCRIPTION = 20_000
MAX_LABELS = 20
MAX_LINKS = 50
STATUS_WORDS = {"todo": "to do", "doing": "doing", "review": "in review", "done": "done"}


@dataclasses.dataclass(frozen=True, slots=True)
class TaskInput:
    """What a person sets on a task; None leaves a field as it is (on update)."""

    title: str | None = None
    description: str | None = None
    status: str | None = None
    assignee: str | None = None  # a sign-in name; "" takes the assignment away
    due_date: date | None = None
    clear_due_date: bool = False
    labels: list[str] | None = None
    links: list[tuple[str, str]] | None = None  # (kind, id)
    close_with_run: bool | None = None


async def _assignee(store: Store, name: str | None, current: str | None) -> str | None:
    if name is None:
        return current
    if not name.strip():
        return None
    person = await store.users.by_name(name.strip().lower())
    if person is None or person.disabled_at is not None:
        raise InvalidInput(f"There is nobody called {name!r} to assign.", field="assignee")
    return person.id


async def _links(
    store: Store, principal: Principal, project_id: str, links: list[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    if len(links) > MAX_LINKS:
        raise LimitExceeded(f"Link at most {MAX_LINKS} objects.", field="links")
    found = []
    for kind, object_id in dict.fromkeys(links):
        target = await targets.find(store, principal, kind, object_id, action="task.link")
        if target.project.id != project_id:
            raise InvalidInput(f"{target.title} is in another project.", field="links")
        found.append(target.ref)
    return tuple(found)


def _check(values: TaskInput) -> None:
    if values.title is not None:
        check_name(values.title, "task")
    if values.description is not None and len(values.description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    if values.status is not None and values.status not in TASK_STATUSES:
        raise InvalidInput(f"A task's status is one of {', '.join(TASK_STATUSES)}.", field="status")
    if values.labels is not None and (
        len(values.labels) > MAX_LABELS or any(len(label) > 50 for label in values.labels)
    ):
        raise LimitExceeded(f"At most {MAX_LABELS} labels of 50 characters.", field="labels")


async def create(store: Store, principal: Principal, project: str, values: TaskInput) -> TaskRecord:
    found = await datasets.find_project(store, principal, project, "task.create")
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        COMMENT,
        action="task.create",
        object_kind="task",
    )
    if not values.title:
        raise InvalidInput("Give the task a title.", field="title")
    _check(values)
    at = now()
    assignee = await _assignee(store, values.assignee, None)
    status = values.status or "todo"
    task = TaskRecord(
        new_id(),
        found.project.id,
        0,
        check_name(values.title, "task"),
        values.description or "",
        status,
        assignee,
        values.due_date,
        [label.strip() for label in values.labels or [] if label.strip()],
        bool(values.close_with_run),
        principal.user_id,
        at,
        at,
        at if status == "done" else None,
        await _links(store, principal, found.project.id, values.links or []),
    )

    def events(made: TaskRecord) -> list[EventDraft]:
        told = [(assignee, "assign")] if assignee else []
        return [
            audit.event(principal, "task.create", "task", made.id, made.project_id),
            feed.entry(
                principal,
                "task.create",
                "task",
                made.id,
                made.project_id,
                f"opened task #{made.number}: {made.title}",
                detail={"number": made.number, "excerpt": plain(made.description)},
                recipients=told,
            ),
        ]

    return await store.tasks.create(task, audit=events)


async def _visible_task(
    store: Store, principal: Principal, task_id: str, needed: str, action: str
) -> TaskRecord:
    task = await store.tasks.by_id(task_id)
    held = None if task is None else await permissions.access_to(store, principal, task.project_id)
    if task is None or held is None:
        await audit.deny(store, principal, action, "task", task_id)
        raise permissions.not_found(f"task with id {task_id!r}")
    await permissions.demand(
        store,
        principal,
        task.project_id,
        held,
        needed,
        action=action,
        object_kind="task",
        object_id=task.id,
    )
    return task


async def update(store: Store, principal: Principal, task_id: str, values: TaskInput) -> TaskRecord:
    """Change a task (commenters and up); the new assignee is told."""
    task = await _visible_task(store, principal, task_id, COMMENT, "task.update")
    _check(values)
    at = now()
    status = values.status or task.status
    assignee = await _assignee(store, values.assignee, task.assignee_id)
    links = task.links
    if values.links is not None:
        links = await _links(store, principal, task.project_id, values.links)
    changed = dataclasses.replace(
        task,
        title=check_name(values.title, "task") if values.title is not None else task.title,
        description=task.description if values.description is None else values.description,
        status=status,
        assignee_id=assignee,
        due_date=None if values.clear_due_date else (values.due_date or task.due_date),
        labels=task.labels
        if values.labels is None
        else [x.strip() for x in values.labels if x.strip()],
        close_with_run=task.close_with_run
        if values.close_with_run is None
        else values.close_with_run,
        updated_at=at,
        closed_at=(task.closed_at or at) if status == "done" else None,
        links=links,
    )
    if status != task.status:
        said = f"moved task #{task.number} to {STATUS_WORDS[status]}: {changed.title}"
    else:
        said = f"changed task #{task.number}: {changed.title}"
    told = [(assignee, "assign")] if assignee and assignee != task.assignee_id else []
    watchers = await store.activity.watchers([("task", task.id)])
    told += [(user_id, "watch") for user_id in sorted(watchers)]
    if task.assignee_id and task.assignee_id != assignee:
        told.append((task.assignee_id, "assign"))
    events: list[EventDraft] = [
        audit.event(principal, "task.update", "task", task.id, task.project_id),
        feed.entry(
            principal,
            "task.update" if status == task.status else "task.move",
            "task",
            task.id,
            task.project_id,
            said,
            detail={"number": task.number, "status": status},
            recipients=told,
        ),
    ]
    return await audit.change(store, events, store.tasks.update(changed, audit=events))


async def board(store: Store, principal: Principal, project: str) -> list[TaskRecord]:
    """The project's tasks, open first, by due date; links the principal may not see are
    left out."""
    found = await datasets.find_project(store, principal, project, "tasks.list")
    tasks = await store.tasks.of_project(found.project.id)
    await audit.read(
        store, principal, "tasks.list", "project", found.project.id, found.project.id, len(tasks)
    )
    return [await visible_links(store, principal, task) for task in tasks]


async def my_work(store: Store, principal: Principal) -> list[TaskRecord]:
    """Open tasks assigned to the principal in projects they can still read, by due date."""
    mine = await store.tasks.assigned_to(principal.user_id)
    readable = await permissions.readable_projects(store, principal, {t.project_id for t in mine})
    shown = [await visible_links(store, principal, t) for t in mine if t.project_id in readable]
    await audit.read(store, principal, "tasks.mine", "user", principal.user_id, None, len(shown))
    return shown


async def get(store: Store, principal: Principal, task_id: str) -> TaskRecord:
    task = await _visible_task(store, principal, task_id, READ, "task.read")
    await audit.read(store, principal, "task.read", "task", task.id, task.project_id, 1)
    return await visible_links(store, principal, task)


async def visible_links(store: Store, principal: Principal, task: TaskRecord) -> TaskRecord:
    held = await permissions.access_to(store, principal, task.project_id)
    hidden = (
        {i for _, i in await targets.hidden(store, principal, {task.project_id: held})}
        if held
        else set()
    )
    return dataclasses.replace(
        task, links=tuple(link for link in task.links if link[1] not in hidden)
    )


async def close_with_runs(store: Store, finished: Sequence[RunRecord]) -> int:
    """Close the open tasks linked to runs that finished, when they asked to be: one read for
    all the runs, then a change for each run that has such tasks."""
    closing = await store.tasks.runs_closing_tasks([run.id for run in finished])
    closed = 0
    for run in finished:
        if run.id in closing:
            closed += await _close_tasks_of(store, run.id, run.project_id, run.name)
    return closed


async def _close_tasks_of(store: Store, run_id: str, project_id: str, run_name: str) -> int:
    def events(closed: list[TaskRecord]) -> list[EventDraft]:
        made: list[EventDraft] = []
        for task in closed:
            told = [(task.assignee_id, "assign")] if task.assignee_id else []
            made += [
                audit.event(SYSTEM, "task.close", "task", task.id, project_id),
                feed.entry(
                    SYSTEM,
                    "task.move",
                    "task",
                    task.id,
                    project_id,
                    f"closed task #{task.number} because run {run_name} finished: {task.title}",
                    detail={"number": task.number, "status": "done"},
                    recipients=told,
                ),
            ]
        return made

    return len(await store.tasks.close_with_run(run_id, now(), audit=events))
