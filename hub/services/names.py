"""What the people and projects that records point at by id are called, for showing them."""

from __future__ import annotations

from collections.abc import Iterable

from hub.store import Store


async def people_and_projects(
    store: Store, user_ids: Iterable[str], project_ids: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Sign-in names by user id and names by project id; ids of what is gone are left out."""
    people = await store.users.by_ids(sorted(set(user_ids)))
    projects = await store.projects.by_ids(sorted(set(project_ids)))
    return (
        {i: user.name for i, user in people.items()},
        {i: project.name for i, project in projects.items()},
    )
