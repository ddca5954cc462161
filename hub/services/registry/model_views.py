"""What a model's page shows, assembled once for a page of versions: checks, reviews, review
queues, aliases, the promotion gate and the names of the people involved.

The models the caller reads come from :mod:`hub.services.registry.models` (which checks access and
audits); this module only gathers what those records point at, one query per kind, and works
out the gates. Only what the caller asked for is gathered (``wanted``): gates cost a query per
version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hub.domain.registry import (
    AliasMove,
    ModelAlias,
    ModelCheck,
    ModelRecord,
    ModelReview,
    ModelVersionRecord,
    ReviewQueue,
)
from hub.services.policy import names
from hub.services.policy.principal import Principal
from hub.services.registry import models, promotion
from hub.services.registry.promotion import Gate
from hub.store import Store

# The parts of a version that cost queries; ask only for those a result shows.
EXPENSIVE = frozenset({"checks", "reviews", "reviewQueues", "gate", "policy"})

# Whose name a record holds when the person is gone (or Salon itself acted).
NOBODY = "salon"


@dataclasses.dataclass(frozen=True, slots=True)
class VersionView:
    """One model version with what points at it."""

    version: ModelVersionRecord
    aliases: tuple[str, ...]
    checks: tuple[ModelCheck, ...]
    reviews: tuple[ModelReview, ...]
    queues: tuple[ReviewQueue, ...]
    gate: Gate | None  # None unless asked for
    names: Mapping[str, str]  # sign-in names by user id: creator, reviewers, approvers

    def name(self, user_id: str) -> str:
        return self.names.get(user_id, NOBODY)


@dataclasses.dataclass(frozen=True, slots=True)
class ModelView:
    """A model's versions, aliases and the history of their moves."""

    versions: list[ModelVersionRecord]
    aliases: list[ModelAlias]
    moves: list[AliasMove]
    names: Mapping[str, str]

    def name(self, user_id: str) -> str:
        return self.names.get(user_id, NOBODY)

    @property
    def numbers(self) -> dict[str, int]:
        """Version numbers by version id."""
        return {v.id: v.number for v in self.versions}


async def versions(
    store: Store,
    model: ModelRecord,
    found: Sequence[ModelVersionRecord],
    wanted: frozenset[str] = EXPENSIVE,
) -> list[VersionView]:
    """Versions of one model, with the costly parts in ``wanted`` worked out."""
    ids = [v.id for v in found]
    gated = "gate" in wanted
    checks = await store.models.checks(ids) if gated or "checks" in wanted else []
    reviews = await store.models.reviews(ids) if gated or "reviews" in wanted else []
    queues = await store.reviews.of_versions(ids) if "reviewQueues" in wanted else []
    aliases = models.aliases_by_version(await store.models.aliases([model.id]))
    people = await names.people(store, {v.created_by for v in found} | {r.user_id for r in reviews})
    shown = {i: user.name for i, user in people.items()}
    views = []
    for v in found:
        mine_checks = tuple(c for c in checks if c.version_id == v.id)
        mine_reviews = tuple(r for r in reviews if r.version_id == v.id)
        gate = await promotion.gate(store, v, mine_checks, mine_reviews) if gated else None
        views.append(
            VersionView(
                version=v,
                aliases=tuple(sorted(aliases.get(v.id, []))),
                checks=mine_checks,
                reviews=mine_reviews,
                queues=tuple(q for q in queues if q.version_id == v.id),
                gate=gate,
                names=shown,
            )
        )
    return views


async def just_registered(
    store: Store,
    principal: Principal,
    model: ModelRecord,
    version: ModelVersionRecord,
    checks: Sequence[ModelCheck],
    wanted: frozenset[str] = EXPENSIVE,
) -> VersionView:
    """The version ``principal`` just registered, with the checks the registration made: a
    new version has no reviews yet, and an alias only when its policy moved one to it at
    once, so neither is read back."""
    aliases: tuple[str, ...] = ()
    if version.policy.auto_move is not None:
        held = models.aliases_by_version(await store.models.aliases([model.id]))
        aliases = tuple(sorted(held.get(version.id, [])))
    queues = await store.reviews.of_versions([version.id]) if "reviewQueues" in wanted else []
    gate = await promotion.gate(store, version, checks, ()) if "gate" in wanted else None
    return VersionView(
        version=version,
        aliases=aliases,
        checks=tuple(checks),
        reviews=(),
        queues=tuple(queues),
        gate=gate,
        names={principal.user_id: principal.user_name},
    )


async def numbers(store: Store, version_ids: Sequence[str]) -> dict[str, int]:
    """Version numbers by id, for versions a change just named (an alias's old and new)."""
    found = await names.model_versions(store, [i for i in version_ids if i])
    return {i: v.number for i, v in found.items()}


async def model(store: Store, model: ModelRecord) -> ModelView:
    """A model the caller reads, with its versions, aliases and alias history."""
    found = await store.models.versions(model.id)
    aliases = await store.models.aliases([model.id])
    moves = await store.models.moves(model.id)
    people = await names.people(store, {a.moved_by for a in aliases} | {m.moved_by for m in moves})
    return ModelView(found, aliases, moves, {i: user.name for i, user in people.items()})


async def owners(
    store: Store, found: Sequence[ModelVersionRecord]
) -> list[tuple[ModelRecord, str, list[ModelVersionRecord]]]:
    """Versions grouped by their model, with the model's project name (a run is behind a
    version or two, of one model or a few)."""
    by_model = await names.models(store, {v.model_id for v in found})
    projects = await names.projects(store, {m.project_id for m in by_model.values()})
    return [
        (owner, projects[owner.project_id].name, [v for v in found if v.model_id == owner.id])
        for owner in by_model.values()
    ]


async def project_name(store: Store, model: ModelRecord) -> str:
    return (await names.projects(store, [model.project_id]))[model.project_id].name


async def version(store: Store, version_id: str) -> ModelVersionRecord:
    """A version a change just made or read (its id came from the service that did)."""
    return (await names.model_versions(store, [version_id]))[version_id]


async def aliases(store: Store, model: ModelRecord) -> list[ModelAlias]:
    """Where a model's aliases point."""
    return await store.models.aliases([model.id])


async def versions_and_aliases(
    store: Store, model: ModelRecord
) -> tuple[list[ModelVersionRecord], list[ModelAlias]]:
    """A model's versions, oldest first, and where its aliases point."""
    return await store.models.versions(model.id), await store.models.aliases([model.id])
