"""Tasks in GraphQL: a project's board, your work, one task, and changing them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info
from hub.api.discussions import TargetKind
from hub.api.errors import Errors, result_of
from hub.domain.collaboration import TaskRecord
from hub.services.collaboration import tasks
from hub.services.collaboration.markdown import render
from hub.services.policy import names

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.type(name="TaskLink", description="An object a task is about.")
class TaskLinkType:
    kind: TargetKind
    id: strawberry.ID


@strawberry.type(name="Task", description="Something to do, on a project's board.")
class TaskType:
    id: strawberry.ID
    project: str
    number: int = strawberry.field(description="#1, #2 … within the project.")
    title: str
    description: str = strawberry.field(description="Markdown.")
    html: str = strawberry.field(description="The description rendered and sanitized.")
    status: str = strawberry.field(description="todo, doing, review or done.")
    assignee: str | None = strawberry.field(description="Sign-in name of who does it.")
    assignee_display_name: str | None
    due_date: date | None
    labels: list[str]
    links: list[TaskLinkType]
    close_with_run: bool = strawberry.field(
        description="Whether it closes itself when a linked run finishes."
    )
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@strawberry.input(description="An object a task is about.")
class TaskLinkInput:
    kind: TargetKind
    id: strawberry.ID


@strawberry.input(description="What to set on a task; fields left out stay as they are.")
class TaskInput:
    title: str | None = None
    description: str | None = None
    status: str | None = strawberry.field(default=None, description="todo, doing, review, done.")
    assignee: str | None = strawberry.field(
        default=None, description="A sign-in name; an empty string takes the assignment away."
    )
    due_date: date | None = None
    clear_due_date: bool = False
    labels: list[str] | None = None
    links: list[TaskLinkInput] | None = strawberry.field(
        default=None, description="Objects it is about (replaces the links it had)."
    )
    close_with_run: bool | None = None

    def values(self) -> tasks.TaskInput:
        links = None if self.links is None else [(k.kind.value, str(k.id)) for k in self.links]
        return tasks.TaskInput(
            self.title,
            self.description,
            self.status,
            self.assignee,
            self.due_date,
            self.clear_due_date,
            self.labels,
            links,
            self.close_with_run,
        )


TaskResult = Annotated[TaskType | Errors, strawberry.union("TaskResult")]


async def shown(store: Store, found: list[TaskRecord]) -> list[TaskType]:
    people = await names.people(
        store, {t.assignee_id for t in found if t.assignee_id} | {t.created_by for t in found}
    )
    projects = await names.projects(store, {t.project_id for t in found})
    result = []
    for t in found:
        assignee = people.get(t.assignee_id) if t.assignee_id else None
        creator = people.get(t.created_by)
        result.append(
            TaskType(
                id=strawberry.ID(t.id),
                project=projects[t.project_id].name,
                number=t.number,
                title=t.title,
                description=t.description,
                html=render(t.description),
                status=t.status,
                assignee=assignee.name if assignee else None,
                assignee_display_name=assignee.display_name if assignee else None,
                due_date=t.due_date,
                labels=t.labels,
                links=[TaskLinkType(kind=TargetKind(k), id=strawberry.ID(i)) for k, i in t.links],
                close_with_run=t.close_with_run,
                created_by=creator.name if creator else "salon",
                created_at=t.created_at,
                updated_at=t.updated_at,
                closed_at=t.closed_at,
            )
        )
    return result


@strawberry.type
class TaskQueries:
    @strawberry.field(description="A project's tasks: open ones first, by due date.")
    async def tasks(self, info: Info, project: str) -> list[TaskType]:
        ctx = info.context
        return await shown(ctx.store, await tasks.board(ctx.store, ctx.principal, project))

    @strawberry.field(description="Open tasks assigned to you, in every project, by due date.")
    async def my_work(self, info: Info) -> list[TaskType]:
        ctx = info.context
        return await shown(ctx.store, await tasks.my_work(ctx.store, ctx.principal))

    @strawberry.field(description="One task.")
    async def task(self, info: Info, id: strawberry.ID) -> TaskResult:
        ctx = info.context

        async def one() -> TaskType:
            return (await shown(ctx.store, [await tasks.get(ctx.store, ctx.principal, id)]))[0]

        return await result_of(one(), lambda t: t)


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="Open a task on a project's board (commenters and up).")
    async def create_task(self, info: Info, project: str, input: TaskInput) -> TaskResult:
        ctx = info.context

        async def made() -> TaskType:
            task = await tasks.create(ctx.store, ctx.principal, project, input.values())
            return (await shown(ctx.store, [task]))[0]

        return await result_of(made(), lambda t: t)

    @strawberry.mutation(description="Change a task: move it, assign it, edit it.")
    async def update_task(self, info: Info, id: strawberry.ID, input: TaskInput) -> TaskResult:
        ctx = info.context

        async def changed() -> TaskType:
            task = await tasks.update(ctx.store, ctx.principal, id, input.values())
            return (
                await shown(ctx.store, [await tasks.visible_links(ctx.store, ctx.principal, task)])
            )[0]

        return await result_of(changed(), lambda t: t)
