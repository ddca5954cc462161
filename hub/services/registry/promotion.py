"""Promotion: the gate a version's policy puts in front of its aliases (checks and reviewers'
verdicts), moving aliases through it, and the reviews that open it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.registry import (
    REVIEW_VERDICTS,
    AliasMove,
    ModelCheck,
    ModelRecord,
    ModelReview,
    ModelVersionRecord,
)
from hub.errors import Forbidden, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.collaboration.markdown import plain
from hub.services.identity.tokens import principal_for_user
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import COMMENT, MANAGE, READ, WRITE
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.registry.model_policy import check_alias
from hub.services.registry.models import MAX_REVIEW, find, find_version, policy
from hub.store import Store


@dataclasses.dataclass(frozen=True, slots=True)
class Gate:
    """Whether a version satisfies the policy it was registered under, and if not, why."""

    open: bool
    reasons: tuple[str, ...]
    approvals: int
    needed: int
    approved_by: tuple[str, ...]  # user ids
    blocked_by: tuple[str, ...]


async def gate(
    store: Store,
    version: ModelVersionRecord,
    checks: Sequence[ModelCheck] | None = None,
    reviews: Sequence[ModelReview] | None = None,
) -> Gate:
    """What the version's own policy says about it now."""
    rules = version.policy
    checks = await store.models.checks([version.id]) if checks is None else checks
    reviews = await store.models.reviews([version.id]) if reviews is None else reviews
    latest: dict[str, ModelReview] = {}
    for review in reviews:
        latest[review.user_id] = review
    members: set[str] | None = None
    if rules.approver_group and latest:
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
    rules = version.policy
    if rules.auto_move is None or not (await gate(store, version)).open:
        return None
    model = (await store.models.by_ids([version.model_id]))[version.model_id]
    current = {a.alias: a for a in await store.models.aliases([model.id])}.get(rules.auto_move)
    if current is not None:
        there = (await store.models.versions_by_ids([current.version_id])).get(current.version_id)
        if there is not None and there.number >= version.number:
            return None
    return await _move(store, SYSTEM, model, rules.auto_move, version, automatic=True)


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
