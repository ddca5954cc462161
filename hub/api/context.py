"""What every resolver gets: the store, the caller and this request's DataLoaders."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from hub.errors import Unauthenticated
from hub.services import metrics, runs
from hub.services.principal import Principal
from hub.settings import Settings
from hub.store import Store
from hub.store.records import (
    ExperimentRecord,
    KeyValue,
    MetricSummary,
    ProjectRecord,
    RunRecord,
)


def _group(items: list[Any], keys: list[str]) -> list[list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        grouped[item.run_id].append(item)
    return [grouped.get(key, []) for key in keys]


class Loaders:
    """Per-request batchers: a page of 100 runs costs one query per field, not 100."""

    def __init__(self, store: Store, principal: Principal) -> None:
        async def params(keys: list[RunRecord]) -> list[list[KeyValue]]:
            items = await runs.params_for(store, principal, keys)
            return _group(items, [run.id for run in keys])

        async def tags(keys: list[RunRecord]) -> list[list[KeyValue]]:
            items = await runs.tags_for(store, principal, keys)
            return _group(items, [run.id for run in keys])

        async def summaries(keys: list[str]) -> list[list[MetricSummary]]:
            return _group(await metrics.summaries(store, principal, keys), keys)

        async def experiments(keys: list[str]) -> list[ExperimentRecord | None]:
            found = await store.projects.experiments_by_ids(keys)
            return [found.get(key) for key in keys]

        async def projects_by_id(keys: list[str]) -> list[ProjectRecord | None]:
            found = await store.projects.by_ids(keys)
            return [found.get(key) for key in keys]

        async def run_counts(keys: list[str]) -> list[int]:
            found = await store.projects.run_counts(keys)
            return [found.get(key, 0) for key in keys]

        self.params = DataLoader(params, cache_key_fn=lambda run: run.id)
        self.tags = DataLoader(tags, cache_key_fn=lambda run: run.id)
        self.metric_summaries = DataLoader(summaries)
        self.experiments = DataLoader(experiments)
        self.projects = DataLoader(projects_by_id)
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
