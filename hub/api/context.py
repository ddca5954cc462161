"""What every resolver gets: the store, the caller and this request's DataLoaders."""

from __future__ import annotations

import dataclasses

import strawberry
from strawberry.dataloader import DataLoader

from hub.errors import Unauthenticated
from hub.services.principal import Principal
from hub.settings import Settings
from hub.store import Store


class Loaders:
    """Per-request batchers for fields resolved object by object (e.g. a project's run count
    in a list of projects): one query for the whole list, not one per object."""

    def __init__(self, store: Store, principal: Principal | None) -> None:
        async def run_counts(keys: list[str]) -> list[int]:
            found = await store.projects.run_counts(keys)
            return [found.get(key, 0) for key in keys]

        self.run_counts = DataLoader(run_counts)


@dataclasses.dataclass
class Context:
    store: Store
    settings: Settings
    principal_or_none: Principal | None
    loaders: Loaders

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:
            raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
        return self.principal_or_none


Info = strawberry.Info[Context, None]
