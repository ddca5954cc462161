"""The model registry: models, versions registered from runs, aliases such as ``production``,
the promotion policy guarding them, reviewers' verdicts, and the gate that says whether an
alias may move.

Rights: readers of a project see its models; editors register versions, create models, re-run
checks and move unprotected aliases; commenters and up approve or request changes (never on a
version they registered themselves); maintainers set the policy and move protected aliases, and
only when the version's gate is open. Nobody, a site admin included, moves a protected alias past
a closed gate: the policy is changed instead, in the open, and applies to versions registered
after the change.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.registry import (
    REVIEW_VERDICTS,
    AliasMove,
    ModelAlias,
    ModelCheck,
    ModelRecord,
    ModelReview,
    ModelVersionRecord,
)
from hub.domain.tracking import ProjectRecord
from hub.errors import AlreadyExists, Forbidden, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.collaboration.markdown import plain
from hub.services.data import datasets
from hub.services.identity.tokens import principal_for_user
from hub.services.policy import audit, feed, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.permissions import COMMENT, MANAGE, READ, WRITE, Access
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.registry.model_policy import (
    CheckSpec,
    Facts,
    Policy,
    check_alias,
    checked,
    inputs_of,
    judge,
)
from hub.services.tracking import runs
from hub.store import Store

MAX_SOURCE = 2000
MAX_DESCRIPTION = 20_000
MAX_TAGS = 50
MAX_INPUTS = 2000
MAX_REVIEW = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class FoundModel:
    model: ModelRecord
    project: ProjectRecord
    access: Access


@dataclasses.dataclass(frozen=True, slots=True)
class Gate:
    """Whether a version satisfies the policy it was registered under, and if not, why."""

    open: bool
    reasons: tuple[str, ...]
    approvals: int
    needed: int
    approved_by: tuple[str, ...]  # user ids
    blocked_by: tuple[str, ...]


# Finding ------------------------------------------------------------------------------------


async def find(
    store: Store, principal: Principal, project: str, name: str, needed: str, action: str
) -> FoundModel:
    found = await datasets.find_project(store, principal, project, action)
    model = await store.models.named(found.project.id, name.strip())
    if model is None:
        await audit.deny(store, principal, action, "model", None, found.project.id)
        raise permissions.not_found(f"model named {name!r} in {project}")
    held = await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        needed,
        action=action,
        object_kind="model",
        object_id=model.id,
    )
    return FoundModel(model, found.project, held)


async def find_version(
    store: Store, principal: Principal, version_id: str, needed: str, action: str
) -> tuple[ModelVersionRecord, FoundModel]:
    version = (await store.models.versions_by_ids([version_id])).get(version_id)
    held = (
        None
        if version is None
        else await permissions.access_to(store, principal, version.project_id)
    )
    if version is None or held is None:
        await audit.deny(store, principal, action, "model_version", version_id)
        raise permissions.not_found(f"model version with id {version_id!r}")
    held = await permissions.demand(
        store,
        principal,
        version.project_id,
        held,
        needed,
        action=action,
        object_kind="model_version",
        object_id=version_id,
    )
    model = (await store.models.by_ids([version.model_id]))[version.model_id]
    project = (await store.projects.by_ids([version.project_id]))[version.project_id]
    return version, FoundModel(model, project, held)


async def numbered(store: Store, found: FoundModel, number: int) -> ModelVersionRecord:
    """Version ``number`` of a model the caller has been allowed to see."""
    version = next(
        (v for v in await store.models.versions(found.model.id) if v.number == number), None
    )
    if version is None:
        raise NotFound(f"Model {found.model.name} has no version {number}.", field="version")
    return version


# Registering --------------------------------------------------------------------------------


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


def _check_inputs(inputs: Sequence[tuple[str, str]] | None) -> str | None:
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
    return json.dumps(
        [{"name": n, "type": k.strip().lower()} for n, (_, k) in zip(names, inputs, strict=True)]
    )


async def _facts(
    store: Store, model_id: str, run_id: str, inputs_json: str | None, policy: Policy
) -> Facts:
    """What the built-in checks judge, read in as few queries as the policy allows."""
    wanted = {spec.than for spec in policy.checks if spec.kind in ("no_worse", "schema")}
    aliases = (
        {a.alias: a.version_id for a in await store.models.aliases([model_id])} if wanted else {}
    )
    pointed = await store.models.versions_by_ids([aliases[a] for a in wanted if a in aliases])
    measured = any(spec.kind in ("metric", "no_worse") for spec in policy.checks)
    summaries = (
        await store.metrics.summaries(sorted({run_id} | {v.run_id for v in pointed.values()}))
        if measured
        else []
    )
    metrics: dict[str, dict[str, float]] = {}
    for summary in summaries:
        if summary.last_value is not None and math.isfinite(summary.last_value):
            metrics.setdefault(summary.run_id, {})[summary.key] = summary.last_value
    compared = {}
    for alias in wanted:
        other = pointed.get(aliases.get(alias, ""))
        if other is not None:
            compared[alias] = (
                other.number,
                metrics.get(other.run_id, {}),
                inputs_of(other.input_schema_json),
            )
    return Facts(metrics.get(run_id, {}), inputs_of(inputs_json), compared)


def _judged(version_id: str, position: int, spec: CheckSpec, facts: Facts) -> ModelCheck:
    at = now()
    if spec.kind in ("job", "review"):
        waiting = "Waiting for the cluster." if spec.kind == "job" else "Waiting for reviews."
        return ModelCheck(
            new_id(),
            version_id,
            position,
            spec.kind,
            json.dumps(dataclasses.asdict(spec)),
            "queued",
            waiting,
            None,
            "",
            None,
            None,
        )
    passed, why = judge(spec, facts)
    return ModelCheck(
        new_id(),
        version_id,
        position,
        spec.kind,
        json.dumps(dataclasses.asdict(spec)),
        "passed" if passed else "failed",
        why,
        None,
        "",
        at,
        at,
    )


async def checks_for(store: Store, version: ModelVersionRecord, model_id: str) -> list[ModelCheck]:
    """The checks the version's policy asks for, ready to run."""
    policy = Policy.from_json(version.policy_json)
    facts = await _facts(store, model_id, version.run_id, version.input_schema_json, policy)
    return [_judged(version.id, i, spec, facts) for i, spec in enumerate(policy.checks)]


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
    held = await permissions.access_to(store, principal, run.project_id)
    await permissions.demand(
        store, principal, run.project_id, held, WRITE, action="model.register", object_kind="model"
    )
    name = check_name(name, "model")
    if len(description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    inputs_json = _check_inputs(inputs)
    at = now()
    existing, policy_json = await store.models.named_with_policy(run.project_id, name)
    model = existing or ModelRecord(new_id(), run.project_id, name, "", principal.user_id, at)
    policy = Policy.from_json(policy_json)
    version = ModelVersionRecord(
        new_id(),
        model.id,
        run.project_id,
        0,
        run.id,
        _check_source(source),
        description,
        json.dumps(_check_tags(dict(tags or {}))),
        inputs_json,
        policy.to_json(),
        principal.user_id,
        at,
    )
    checks = await checks_for(store, version, model.id)
    watchers = await store.activity.watchers([("model", model.id)])

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
                f"registered version {v.number} of model {m.name} from run {run.name}",
                detail={"model": m.name, "version": v.number, "run_id": run.id},
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


# The policy ---------------------------------------------------------------------------------


async def policy(store: Store, model: ModelRecord) -> Policy:
    return Policy.from_json(await store.models.policy(model.id))


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
            detail=json.loads(new.to_json()),
        ),
    ]
    await store.models.set_policy(
        found.model.id, new.to_json(), principal.user_id, now(), audit=events
    )
    return new


# The gate -----------------------------------------------------------------------------------


async def gate(
    store: Store,
    version: ModelVersionRecord,
    checks: Sequence[ModelCheck] | None = None,
    reviews: Sequence[ModelReview] | None = None,
) -> Gate:
    """What the version's own policy says about it now."""
    rules = Policy.from_json(version.policy_json)
    checks = await store.models.checks([version.id]) if checks is None else checks
    reviews = await store.models.reviews([version.id]) if reviews is None else reviews
    latest: dict[str, ModelReview] = {}
    for review in reviews:
        latest[review.user_id] = review
    members: set[str] | None = None
    if rules.approver_group:
        groups = {g.name: g.id for g in await store.users.groups()}
        group_id = groups.get(rules.approver_group)
        members = set(
            (await store.users.group_members([group_id])).get(group_id, []) if group_id else []
        )
    approved, blocked = [], []
    for user_id, review in latest.items():
        if user_id == version.created_by or not await _may_review(store, user_id, version):
            continue
        if review.verdict == "request_changes":
            blocked.append(user_id)
        elif members is None or user_id in members:
            approved.append(user_id)
    reasons = []
    unfinished = [c for c in checks if c.status in ("queued", "running")]
    failed = [c for c in checks if c.status == "failed"]
    if failed:
        reasons.append(f"{len(failed)} check(s) failed")
    if unfinished:
        reasons.append(f"{len(unfinished)} check(s) not finished")
    if len(approved) < rules.approvals:
        who = f" from {rules.approver_group}" if rules.approver_group else ""
        reasons.append(f"{len(approved)} of {rules.approvals} approval(s){who}")
    if blocked:
        reasons.append(f"changes requested by {len(blocked)} reviewer(s)")
    return Gate(
        not reasons, tuple(reasons), len(approved), rules.approvals, tuple(approved), tuple(blocked)
    )


async def _may_review(store: Store, user_id: str, version: ModelVersionRecord) -> bool:
    user = await store.users.by_id(user_id)
    if user is None or user.disabled_at is not None:
        return False
    person = await principal_for_user(store, user, auth_method="system", auth_id=None)
    held = await permissions.access_to(store, person, version.project_id)
    return held is not None and held.allows(COMMENT)


# Moving aliases -----------------------------------------------------------------------------


async def move_alias(
    store: Store,
    principal: Principal,
    project: str,
    name: str,
    alias: str,
    version_number: int | None,
) -> AliasMove:
    """Point ``alias`` at a version (None removes it). A protected alias needs a maintainer
    and the version's gate open; others need an editor."""
    alias = check_alias(alias)
    found = await find(store, principal, project, name, READ, "model.alias")
    rules = await policy(store, found.model)
    protected = alias in rules.protected
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        MANAGE if protected else WRITE,
        action="model.alias",
        object_kind="model",
        object_id=found.model.id,
    )
    versions = await store.models.versions(found.model.id)
    target = None
    if version_number is not None:
        target = next((v for v in versions if v.number == version_number), None)
        if target is None:
            raise NotFound(f"Model {name} has no version {version_number}.", field="version")
        if protected:
            # The version's own gate: the policy it was registered under.
            opened = await gate(store, target)
            if not opened.open:
                await audit.deny(
                    store, principal, "model.alias", "model_version", target.id, found.project.id
                )
                raise Forbidden(
                    f"Version {target.number} may not be {alias} yet: {'; '.join(opened.reasons)}."
                )
    return await _move(store, principal, found.model, alias, target, automatic=False)


async def _move(
    store: Store,
    principal: Principal,
    model: ModelRecord,
    alias: str,
    target: ModelVersionRecord | None,
    *,
    automatic: bool,
) -> AliasMove:
    current = {a.alias: a for a in await store.models.aliases([model.id])}.get(alias)
    if (current.version_id if current else None) == (target.id if target else None):
        raise InvalidInput(f"{alias} is there already.", field="alias")
    previous = (
        (await store.models.versions_by_ids([current.version_id])).get(current.version_id)
        if current
        else None
    )
    move = AliasMove(
        new_id(),
        model.id,
        alias,
        target.id if target else None,
        current.version_id if current else None,
        principal.user_id,
        now(),
        automatic,
    )
    watchers = await store.activity.watchers([("model", model.id)])
    told = {u: "watch" for u in watchers}
    if target is not None:
        told.setdefault(target.created_by, "model")
    told.pop(principal.user_id, None)
    words = (
        f"moved {alias} of model {model.name} to version {target.number}"
        if target
        else f"removed {alias} from model {model.name}"
    )
    if previous is not None and target is not None:
        words += f" (was version {previous.number})"
    if automatic:
        words += ", its policy satisfied"
    events: list[EventDraft] = [
        audit.event(principal, "model.alias", "model", model.id, model.project_id),
        feed.entry(
            principal,
            "model.alias",
            "model",
            model.id,
            model.project_id,
            words,
            detail={
                "alias": alias,
                "version": target.number if target else None,
                "previous": previous.number if previous else None,
                "automatic": automatic,
            },
            recipients=sorted(told.items()),
        ),
    ]
    return await store.models.move(move, audit=events)


async def move_if_satisfied(store: Store, version: ModelVersionRecord) -> AliasMove | None:
    """Move the policy's ``auto_move`` alias to the version once its gate is open, unless the
    alias already points at it or at a newer version."""
    rules = Policy.from_json(version.policy_json)
    if rules.auto_move is None or not (await gate(store, version)).open:
        return None
    model = (await store.models.by_ids([version.model_id]))[version.model_id]
    current = {a.alias: a for a in await store.models.aliases([model.id])}.get(rules.auto_move)
    if current is not None:
        there = (await store.models.versions_by_ids([current.version_id])).get(current.version_id)
        if there is not None and there.number >= version.number:
            return None
    return await _move(store, SYSTEM, model, rules.auto_move, version, automatic=True)


# Reviews ------------------------------------------------------------------------------------


async def review(
    store: Store, principal: Principal, version_id: str, verdict: str, body: str = ""
) -> ModelReview:
    """Approve a version or request changes, with a comment (commenters and up; not on a
    version you registered)."""
    version, found = await find_version(store, principal, version_id, COMMENT, "model.review")
    if verdict not in REVIEW_VERDICTS:
        raise InvalidInput("The verdict is approve or request_changes.", field="verdict")
    if len(body) > MAX_REVIEW:
        raise LimitExceeded(f"The comment is longer than {MAX_REVIEW:,} characters.", field="body")
    if verdict == "request_changes" and not body.strip():
        raise InvalidInput("Say what should change.", field="body")
    if version.created_by == principal.user_id and verdict == "approve":
        await audit.deny(
            store, principal, "model.review", "model_version", version.id, version.project_id
        )
        raise Forbidden("You registered this version: someone else approves it.")
    made = ModelReview(new_id(), version.id, principal.user_id, verdict, body.strip(), now())
    told = {u: "watch" for u in await store.activity.watchers([("model", found.model.id)])}
    told[version.created_by] = "model"
    told.pop(principal.user_id, None)
    words = "approved" if verdict == "approve" else "requested changes to"
    events: list[EventDraft] = [
        audit.event(principal, "model.review", "model_version", version.id, version.project_id),
        feed.entry(
            principal,
            f"model.{verdict}",
            "model_version",
            version.id,
            version.project_id,
            f"{words} version {version.number} of model {found.model.name}",
            detail={
                "model": found.model.name,
                "version": version.number,
                "excerpt": plain(made.body),
            },
            recipients=sorted(told.items()),
        ),
    ]
    await store.models.review(made, audit=events)
    await move_if_satisfied(store, version)
    return made


# Reading ------------------------------------------------------------------------------------


async def of_project(store: Store, principal: Principal, project: str) -> list[ModelRecord]:
    found = await datasets.find_project(store, principal, project, "model.list")
    models = await store.models.of_project(found.project.id)
    await audit.read(
        store, principal, "model.list", "project", found.project.id, found.project.id, len(models)
    )
    return models


async def read(store: Store, principal: Principal, project: str, name: str) -> FoundModel:
    found = await find(store, principal, project, name, READ, "model.read")
    await audit.read(store, principal, "model.read", "model", found.model.id, found.project.id, 1)
    return found


async def read_version(
    store: Store, principal: Principal, version_id: str
) -> tuple[ModelVersionRecord, FoundModel]:
    version, found = await find_version(store, principal, version_id, READ, "model.read")
    await audit.read(
        store, principal, "model.read", "model_version", version.id, version.project_id, 1
    )
    return version, found


async def of_run(store: Store, principal: Principal, run_id: str) -> list[ModelVersionRecord]:
    """The model versions registered from a run the principal may read: its lineage onward."""
    (run,) = await runs.visible_runs(store, principal, [run_id], "model.read")
    found = await store.models.versions_of_runs([run.id])
    await audit.read(store, principal, "model.read", "run", run.id, run.project_id, len(found))
    return found


def aliases_by_version(aliases: Sequence[ModelAlias]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for alias in aliases:
        found.setdefault(alias.version_id, []).append(alias.alias)
    return found
