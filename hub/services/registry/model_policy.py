"""A model's promotion policy ("branch protection for models") and what it says about a version.

A policy names the aliases it protects, the checks a version must pass and how many approvals
it needs before a protected alias may point at it, and optionally an alias to move by itself
once all that holds. Each version keeps the policy in force when it was registered: changing the
policy later never lowers the bar for a version already waiting.

The built-in checks are judged from tracked facts when the version is registered:

- ``metric``: the run's last value of a metric against a threshold (``accuracy >= 0.9``);
- ``no_worse``: no worse than the version the ``than`` alias points at, by more than ``by``;
- ``schema``: the inputs the version expects are all inputs the ``than`` version accepts, with
  the same types (callers of the current version can call the new one).

A ``job`` check runs an entrypoint on the Ray cluster (see ``model_checks``). A ``review``
check waits for people: it passes once a review of the version's predictions has decided
``samples`` samples and found at least ``value`` of them correct (see ``reviews``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any

from hub.domain.data import Column
from hub.domain.registry import CheckSpec, Policy
from hub.errors import InvalidInput, LimitExceeded

CHECK_KINDS = ("metric", "no_worse", "schema", "job", "review")
OPERATORS = (">=", ">", "<=", "<")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_CHECKS = 20
MAX_APPROVALS = 10
MAX_ENTRYPOINT = 5000


def check_alias(alias: str) -> str:
    if not ALIAS.match(alias or ""):
        raise InvalidInput(
            "An alias is 1 to 40 lowercase letters, digits, '-' or '_', starting "
            "with a letter (staging, production).",
            field="alias",
        )
    return alias


def _number(value: Any, what: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise InvalidInput(f"Give {what} as a finite number.", field="checks")
    return float(value)


def checked_spec(spec: CheckSpec) -> CheckSpec:
    """The spec, or InvalidInput saying what is wrong with it."""
    if spec.kind not in CHECK_KINDS:
        raise InvalidInput(f"A check is one of {', '.join(CHECK_KINDS)}.", field="checks")
    if len(spec.name) > 200:
        raise LimitExceeded("A check's name is at most 200 characters.", field="checks")
    if spec.kind in ("metric", "no_worse") and not (spec.metric or "").strip():
        raise InvalidInput(f"A {spec.kind} check names its metric.", field="checks")
    if spec.kind == "metric":
        if spec.op not in OPERATORS:
            raise InvalidInput(f"Compare with one of {' '.join(OPERATORS)}.", field="checks")
        _number(spec.value, "the threshold")
    if spec.kind in ("no_worse", "schema"):
        check_alias(spec.than)
    if spec.kind == "review":
        if not 0 <= _number(spec.value, "the accuracy reviewers must find") <= 1:
            raise InvalidInput("A review check's accuracy is between 0 and 1.", field="checks")
        if not 1 <= spec.samples <= 5000:
            raise InvalidInput(
                "A review check asks for 1 to 5,000 decided samples.", field="checks"
            )
    if spec.kind == "no_worse" and (_number(spec.by, "the margin") < 0):
        raise InvalidInput("The margin is zero or more.", field="checks")
    if spec.kind == "job":
        if not (spec.entrypoint or "").strip() or len(spec.entrypoint or "") > MAX_ENTRYPOINT:
            raise InvalidInput(
                f"A job check gives the command to run (up to {MAX_ENTRYPOINT:,} characters).",
                field="checks",
            )
        if not 0 <= spec.gpus <= 64:
            raise InvalidInput("A job check asks for 0 to 64 GPUs.", field="checks")
    return spec


def checked(policy: Policy) -> Policy:
    """The policy, or InvalidInput / LimitExceeded naming the part that is wrong."""
    if len(policy.checks) > MAX_CHECKS:
        raise LimitExceeded(f"A policy has at most {MAX_CHECKS} checks.", field="checks")
    if not 0 <= policy.approvals <= MAX_APPROVALS:
        raise InvalidInput(f"Ask for 0 to {MAX_APPROVALS} approvals.", field="approvals")
    if not policy.protected:
        raise InvalidInput("A policy protects at least one alias.", field="protected")
    for alias in policy.protected:
        check_alias(alias)
    if policy.auto_move is not None and policy.auto_move not in policy.protected:
        raise InvalidInput(
            "The alias to move by itself must be one the policy protects.", field="autoMove"
        )
    for spec in policy.checks:
        checked_spec(spec)
    return dataclasses.replace(policy, protected=tuple(dict.fromkeys(policy.protected)))


# Judging the built-in checks ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """What the built-in checks judge: the new version's metrics and inputs, and those of the
    version each compared alias points at (absent when the alias points nowhere)."""

    metrics: Mapping[str, float]
    inputs: tuple[Column, ...] | None
    compared: Mapping[str, tuple[int, Mapping[str, float], tuple[Column, ...] | None]]


def _holds(value: float, op: str, threshold: float) -> bool:
    return {
        ">=": value >= threshold,
        ">": value > threshold,
        "<=": value <= threshold,
        "<": value < threshold,
    }[op]


def judge(spec: CheckSpec, facts: Facts) -> tuple[bool, str]:
    """(passed, why) of a built-in check."""
    if spec.kind == "metric":
        assert spec.metric is not None and spec.value is not None
        value = facts.metrics.get(spec.metric)
        if value is None:
            return False, f"The run logged no metric {spec.metric!r}."
        ok = _holds(value, spec.op, spec.value)
        return ok, f"{spec.metric} is {value:.6g}, {'' if ok else 'not '}{spec.op} {spec.value:g}."
    other = facts.compared.get(spec.than)
    if other is None:
        return True, f"Nothing is at {spec.than} yet to compare with."
    number, their_metrics, their_inputs = other
    if spec.kind == "no_worse":
        assert spec.metric is not None
        mine, theirs = facts.metrics.get(spec.metric), their_metrics.get(spec.metric)
        if mine is None:
            return False, f"The run logged no metric {spec.metric!r}."
        if theirs is None:
            return True, f"Version {number} at {spec.than} has no {spec.metric!r} to compare with."
        worse = theirs - mine if spec.higher_is_better else mine - theirs
        ok = worse <= spec.by
        words = f"{spec.metric} is {mine:.6g} against {theirs:.6g} for version {number}"
        if ok:
            return True, f"{words}: within the allowed {spec.by:g}."
        return False, f"{words}: {worse:.6g} worse, more than the allowed {spec.by:g}."
    # schema
    if facts.inputs is None:
        return False, "This version was registered without its input schema."
    if their_inputs is None:
        return True, f"Version {number} at {spec.than} has no input schema to compare with."
    theirs_by_name = {c.name: c.type for c in their_inputs}
    problems = [
        f"{c.name} ({c.type}) is not an input of version {number}"
        if c.name not in theirs_by_name
        else f"{c.name} is {c.type} here but {theirs_by_name[c.name]} in version {number}"
        for c in facts.inputs
        if theirs_by_name.get(c.name) != c.type
    ]
    if problems:
        return False, "Incompatible inputs: " + "; ".join(problems[:10]) + "."
    return True, f"Every input is one version {number} takes, with the same type."
