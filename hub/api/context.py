"""What every resolver gets: the store, the caller and this request's DataLoaders."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from strawberry.dataloader import DataLoader

from hub.auth.keys import KeyRing
from hub.domain.tracking import ExperimentRecord, MetricSeries, RunRecord
from hub.errors import Unauthenticated
from hub.services.collaboration.live import Live
from hub.services.identity.authentication import Authenticator
from hub.services.policy.limits import MAX_SERIES_REQUEST
from hub.services.policy.principal import Principal
from hub.services.tracking import lineage, metrics, projects
from hub.services.tracking.lineage import UsedVersion
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

# A run's curves as asked by Run.series: run id, metric names, buckets, step range.
SeriesKey = tuple[str, tuple[str, ...], int, int | None, int | None]


class Loaders:
    """Per-request batchers for fields resolved object by object (a project's run count in a
    list of projects, the curves of each run in a page): a few queries for the whole list,
    not one per object."""

    def __init__(self, store: Store, principal: Principal | None) -> None:
        async def run_counts(keys: list[str]) -> list[int]:
            found = await projects.run_counts(store, keys)
            return [found.get(key, 0) for key in keys]

        async def experiment_tags(keys: list[ExperimentRecord]) -> list[list[tuple[str, str]]]:
            found = await projects.experiment_tags(store, keys)
            return [found.get(experiment.id, []) for experiment in keys]

        async def series(keys: list[SeriesKey]) -> list[list[MetricSeries]]:
            if principal is None:
                raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
            groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
            for run_id, names, buckets, low, high in keys:
                groups[(names, buckets, low, high)].append(run_id)
            found: dict[tuple[Any, ...], MetricSeries] = {}
            for (names, buckets, low, high), run_ids in groups.items():
                per_call = max(1, MAX_SERIES_REQUEST // max(1, len(names)))
                for start in range(0, len(run_ids), per_call):
                    chunk = list(dict.fromkeys(run_ids[start : start + per_call]))
                    for item in await metrics.series(
                        store,
                        principal,
                        chunk,
                        list(names),
                        buckets,
                        low,
                        high,
                        budget=self.series_budget,
                    ):
                        found[(item.run_id, item.key, names, buckets, low, high)] = item
            return [
                [
                    found[(run_id, name, names, buckets, low, high)]
                    for name in names
                    if (run_id, name, names, buckets, low, high) in found
                ]
                for run_id, names, buckets, low, high in keys
            ]

        async def run_data(keys: list[RunRecord]) -> list[list[UsedVersion]]:
            if principal is None:
                raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
            found = await lineage.data_of_runs(store, principal, keys)
            return [found.get(run.id, []) for run in keys]

        self.series_budget = metrics.SeriesBudget()
        self.run_counts = DataLoader(run_counts)
        self.series = DataLoader(series)
        self.run_data = DataLoader(run_data, cache_key_fn=lambda run: run.id)
        self.experiment_tags = DataLoader(experiment_tags, cache_key_fn=lambda e: e.id)


@dataclasses.dataclass
class Context:
    store: Store
    settings: Settings
    principal_or_none: Principal | None
    loaders: Loaders
    auth: Authenticator
    keys: KeyRing
    live: Live
    address: str | None = None
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:
            raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
        return self.principal_or_none


Info = strawberry.Info[Context, None]


def context_for(hub: Any, principal: Principal | None, address: str | None) -> Context:
    """A resolver context for ``principal`` from the hub's parts (``hub.app.Hub``)."""
    return Context(
        store=hub.store,
        settings=hub.settings,
        principal_or_none=principal,
        loaders=Loaders(hub.store, principal),
        auth=hub.authenticator,
        keys=hub.keys,
        live=hub.live,
        address=address,
    )


def reading_as(base: Context, principal: Principal) -> Context:
    """``base`` for another principal (its own DataLoaders: nothing read is shared)."""
    return dataclasses.replace(
        base,
        principal_or_none=principal,
        loaders=Loaders(base.store, principal),
        address=principal.address,
    )


def selected(info: Info, names: frozenset[str]) -> frozenset[str]:
    """Which of ``names`` the current field's selection asks for, at any depth and through
    fragments: what a resolver must work out, and what it may skip.

    Read from the query's syntax tree (graphql-core's resolve info, which Strawberry keeps as
    ``_raw_info``): Strawberry's ``selected_fields`` builds a typed copy of the whole
    selection, arguments included, on every call, which profiled at 3 % of a busy hub."""
    raw = info._raw_info
    found: set[str] = set()
    stack: list[SelectionNode] = list(raw.field_nodes)  # the field itself counts too
    spread: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, FragmentSpreadNode):
            name = node.name.value
            fragment = raw.fragments.get(name)
            if fragment is not None and name not in spread:
                spread.add(name)
                stack.extend(fragment.selection_set.selections)
            continue
        if isinstance(node, FieldNode) and node.name.value in names:
            found.add(node.name.value)
        if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
            stack.extend(node.selection_set.selections)
    return frozenset(found)
