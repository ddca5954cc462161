"""Registering model versions from runs (with the checks their policy asks for), creating and
describing models, and setting a model's promotion policy."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.data import Column
from hub.domain.registry import (
    CheckSpec,
    ModelCheck,
    ModelRecord,
    ModelVersionRecord,
    Policy,
)
from hub.domain.tracking import RunRecord
from hub.errors import AlreadyExists, InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.services.data import datasets
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.permissions import MANAGE, WRITE
from hub.services.policy.principal import Principal
from hub.services.registry.model_policy import (
    Facts,
    checked,
    judge,
)
from hub.services.registry.models import MAX_INPUTS, find
from hub.services.registry.promotion import move_if_satisfied
from hub.services.tracking import runs
from hub.store import Store

MAX_SOURCE = 2000


MAX_DESCRIPTION = 20_000


MAX_TAGS = 50


def _check_source(source: str) -> str:
    source = source.strip()
    if not source or len(source) > MAX_SOURCE or any(ord(c) < 32 for c in source):
        raise InvalidInput(
            f"Say where the model is: a path in the run or a URI (up to "
            f"{MAX_SOURCE:,} characters, no control characters).",
            field="source",
        )
    return source


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS or any(
        len(k) > 250 or len(v) > 5000 or not k.strip() for k, v in tags.items()
    ):
        raise LimitExceeded(
            f"At most {MAX_TAGS} tags, keys up to 250 characters and values up to 5,000.",
            field="tags",
        )
    return tags


def _check_inputs(inputs: Sequence[tuple[str, str]] | None) -> tuple[Column, ...] | None:
    if inputs is None:
        return None
    if len(inputs) > MAX_INPUTS:
        raise LimitExceeded(f"At most {MAX_INPUTS:,} inputs.", field="inputSchema")
    names = [name.strip() for name, _ in inputs]
    if any(not n or len(n) > 250 for n in names) or len(set(names)) != len(names):
        raise InvalidInput(
            "Every input has a distinct name of 1 to 250 characters.", field="inputSchema"
        )
    if any(not kind.strip() or len(kind) > 100 for _, kind in inputs):
        raise InvalidInput(
            "Every input has a type of up to 100 characters (int64, float32, string…).",
            field="inputSchema",
        )
    return tuple(Column(n, k.strip().lower()) for n, (_, k) in zip(names, inputs, strict=True))


async def _facts(
    store: Store,
    model_id: str,
    run_id: str | None,
    inputs: tuple[Column, ...] | None,
    policy: Policy,
) -> Facts:
    """What the built-in checks judge, read in as few queries as the policy allows. A version
    without a run (registered from outside Salon) has no metrics: a metric check fails."""
    wanted = {spec.than for spec in policy.checks if spec.kind in ("no_worse", "schema")}
    pointed = await store.models.aliased(model_id, sorted(wanted))
    measured = any(spec.kind in ("metric", "no_worse") for spec in policy.checks)
    summaries = (
        await store.metrics.summaries(
            sorted({r for r in [run_id, *(v.run_id for v in pointed.values())] if r})
        )
        if measured
        else []
    )
    metrics: dict[str, dict[str, float]] = {}
    for summary in summaries:
        if summary.last_value is not None and math.isfinite(summary.last_value):
            metrics.setdefault(summary.run_id, {})[summary.key] = summary.last_value
    compared = {}
    for alias in wanted:
        other = pointed.get(alias)
        if other is not None:
            compared[alias] = (
                other.number,
                metrics.get(other.run_id or "", {}),
                other.inputs,
            )
    return Facts(metrics.get(run_id or "", {}), inputs, compared)


def _judged(version_id: str, position: int, spec: CheckSpec, facts: Facts) -> ModelCheck:
    """A built-in check judged now; a job or review check queued, to be decided later."""
    if spec.kind in ("job", "review"):
        status, started = "queued", None
        why = "Waiting for the cluster." if spec.kind == "job" else "Waiting for reviews."
    else:
        passed, why = judge(spec, facts)
        status, started = ("passed" if passed else "failed"), now()
    return ModelCheck(
        new_id(), version_id, position, spec.kind, spec, status, why, None, "", started, started
    )


async def checks_for(store: Store, version: ModelVersionRecord, model_id: str) -> list[ModelCheck]:
    """The checks the version's policy asks for, ready to run."""
    facts = await _facts(store, model_id, version.run_id, version.inputs, version.policy)
    return [_judged(version.id, i, spec, facts) for i, spec in enumerate(version.policy.checks)]


async def register(
    store: Store,
    principal: Principal,
    run_id: str,
    name: str,
    source: str,
    description: str = "",
    tags: dict[str, str] | None = None,
    inputs: Sequence[tuple[str, str]] | None = None,
) -> tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]:
    """A new version of the model ``name`` (created with it when new) from a run the principal
    may edit; the checks of the model's policy start at once."""
    (run,) = await runs.visible_runs(store, principal, [run_id], "model.register")
    drafted = Draft(run.project_id, name, source, description, dict(tags or {}), inputs)
    return await _register(store, principal, drafted, run)


async def register_outside(
    store: Store,
    principal: Principal,
    project: str,
    name: str,
    source: str,
    description: str = "",
    tags: dict[str, str] | None = None,
    run_reference: str | None = None,
) -> tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]:
    """A new version of the model ``name`` in ``project`` from a source alone, as MLflow
    allows: the model was trained outside Salon. ``run_reference`` is a run id the client
    gave that is no run of the project; it is kept as given and never linked to a run. The
    version's checks judge it without metrics, so a metric check in its gate fails."""
    found = await datasets.find_project(store, principal, project, "model.register")
    drafted = Draft(found.project.id, name, source, description, dict(tags or {}), None)
    return await _register(store, principal, drafted, None, run_reference)


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """What a registration asks for, before it is checked."""

    project_id: str
    name: str
    source: str
    description: str
    tags: dict[str, str]
    inputs: Sequence[tuple[str, str]] | None


async def _register(
    store: Store,
    principal: Principal,
    draft: Draft,
    run: RunRecord | None,
    run_reference: str | None = None,
) -> tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]:
    held = await permissions.access_to(store, principal, draft.project_id)
    await permissions.demand(
        store,
        principal,
        draft.project_id,
        held,
        WRITE,
        action="model.register",
        object_kind="model",
    )
    name = check_name(draft.name, "model")
    if len(draft.description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    columns = _check_inputs(draft.inputs)
    at = now()
    existing, policy = await store.models.named_with_policy(draft.project_id, name)
    model = existing or ModelRecord(new_id(), draft.project_id, name, "", principal.user_id, at)
    version = ModelVersionRecord(
        new_id(),
        model.id,
        draft.project_id,
        0,
        run.id if run else None,
        _check_source(draft.source),
        draft.description,
        _check_tags(draft.tags),
        columns,
        policy,
        principal.user_id,
        at,
        run_reference,
    )
    checks = await checks_for(store, version, model.id)
    watchers = await store.activity.watchers([("model", model.id)])
    origin = f"from run {run.name}" if run else "from outside Salon"

    def events(made: tuple[ModelRecord, ModelVersionRecord, list[ModelCheck]]) -> list[EventDraft]:
        m, v, _ = made
        told = [(u, "watch") for u in sorted(watchers) if u != principal.user_id]
        return [
            audit.event(principal, "model.register", "model_version", v.id, m.project_id),
            feed.entry(
                principal,
                "model.register",
                "model_version",
                v.id,
                m.project_id,
                f"registered version {v.number} of model {m.name} {origin}",
                detail={"model": m.name, "version": v.number, "run_id": v.run_id},
                recipients=told,
            ),
        ]

    made = await store.models.register(model, version, checks, audit=events)
    await move_if_satisfied(store, made[1])
    return made


async def create_model(
    store: Store, principal: Principal, project: str, name: str, description: str = ""
) -> ModelRecord:
    """An empty model, so its policy can be set before its first version (editors)."""
    found = await datasets.find_project(store, principal, project, "model.create")
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        WRITE,
        action="model.create",
        object_kind="model",
    )
    name = check_name(name, "model")
    if await store.models.named(found.project.id, name) is not None:
        raise AlreadyExists(f"There is a model named {name!r} in {project} already.", field="name")
    if len(description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    model = ModelRecord(new_id(), found.project.id, name, description, principal.user_id, now())

    events: list[EventDraft] = [
        audit.event(principal, "model.create", "model", model.id, found.project.id),
        feed.entry(
            principal,
            "model.create",
            "model",
            model.id,
            found.project.id,
            f"created model {model.name}",
        ),
    ]
    return await store.models.create(model, audit=events)


async def rename_model(
    store: Store, principal: Principal, project: str, name: str, new_name: str
) -> ModelRecord:
    """Give the model another name in its project (maintainers: ``models:/name/...`` URIs in
    use stop resolving under the old name)."""
    found = await find(store, principal, project, name, MANAGE, "model.rename")
    new_name = check_name(new_name, "model")
    events: list[EventDraft] = [
        audit.event(principal, "model.rename", "model", found.model.id, found.project.id),
        feed.entry(
            principal,
            "model.rename",
            "model",
            found.model.id,
            found.project.id,
            f"renamed model {found.model.name} to {new_name}",
        ),
    ]
    return await audit.change(
        store, events, store.models.rename(found.model, new_name, audit=events)
    )


async def describe(
    store: Store, principal: Principal, project: str, name: str, description: str
) -> ModelRecord:
    """What the model is for, in Markdown (editors)."""
    found = await find(store, principal, project, name, WRITE, "model.describe")
    if len(description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    events: list[EventDraft] = [
        audit.event(principal, "model.describe", "model", found.model.id, found.project.id)
    ]
    await store.models.describe(found.model.id, description.strip(), audit=events)
    return dataclasses.replace(found.model, description=description.strip())


async def set_policy(
    store: Store, principal: Principal, project: str, name: str, new: Policy
) -> Policy:
    """The model's policy from now on (maintainers): versions registered from now carry it."""
    found = await find(store, principal, project, name, MANAGE, "model.policy")
    new = checked(new)
    if new.approver_group is not None:
        groups = {g.name: g.id for g in await store.users.groups()}
        if new.approver_group not in groups:
            raise InvalidInput(
                f"There is no group named {new.approver_group!r}.", field="approverGroup"
            )
    for spec in new.checks:
        if spec.dataset_version is not None:
            version = (await store.datasets.versions_by_ids([spec.dataset_version])).get(
                spec.dataset_version
            )
            if version is None or version.project_id != found.project.id:
                raise InvalidInput(
                    "A job check's dataset version must be one of this project's.", field="checks"
                )
    events: list[EventDraft] = [
        audit.event(principal, "model.policy", "model", found.model.id, found.project.id),
        feed.entry(
            principal,
            "model.policy",
            "model",
            found.model.id,
            found.project.id,
            f"set the promotion policy of model {found.model.name}: "
            f"{len(new.checks)} check(s), {new.approvals} approval(s) for "
            f"{', '.join(new.protected)}",
            detail=dataclasses.asdict(new),
        ),
    ]
    await store.models.set_policy(found.model.id, new, principal.user_id, now(), audit=events)
    return new
