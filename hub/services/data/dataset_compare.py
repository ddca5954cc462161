"""Comparing two versions of a dataset: schema, rows (matched by a key) and column shifts,
with a summary in plain sentences."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hub.errors import InvalidInput
from hub.services.data.datasets import Found, masked_columns, paths_of, version
from hub.services.policy import audit
from hub.services.policy.principal import Principal
from hub.store import Store


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnShift:
    """How one column common to both versions moved, from their profiles."""

    name: str
    type: str
    nulls_before: int
    nulls_after: int
    distinct_before: int | None
    distinct_after: int | None
    mean_before: float | None
    mean_after: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    before: int
    after: int
    rows_before: int
    rows_after: int
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[tuple[str, str, str]]  # name, type before, type after
    key: str | None
    rows_added: int | None
    rows_removed: int | None
    rows_changed: int | None
    repeated_keys: int | None
    shifts: list[ColumnShift]
    summary: list[str]


def _mean(profile: Mapping[str, Any]) -> float | None:
    value = profile.get("mean")
    return None if value is None else float(value)


def _summary(c: Comparison) -> list[str]:
    """The comparison in sentences a domain expert can read."""
    said = []
    difference = c.rows_after - c.rows_before
    if difference:
        more = "more" if difference > 0 else "fewer"
        said.append(f"{abs(difference):,} {more} rows ({c.rows_before:,} → {c.rows_after:,}).")
    else:
        said.append(f"The same number of rows ({c.rows_after:,}).")
    for name in c.added_columns:
        said.append(f"New column: {name}.")
    for name in c.removed_columns:
        said.append(f"Column {name} is gone.")
    for name, old, new in c.retyped_columns:
        said.append(f"Column {name} changed type from {old} to {new}.")
    if c.key is not None and c.rows_added is not None:
        said.append(
            f"Matched by {c.key}: {c.rows_added:,} rows added, {c.rows_removed:,} removed, "
            f"{c.rows_changed:,} changed."
        )
        if c.repeated_keys:
            said.append(f"{c.repeated_keys:,} {c.key} values appear more than once.")
    for shift in c.shifts:
        if shift.mean_before is not None and shift.mean_after is not None:
            base = abs(shift.mean_before) or 1.0
            change = (shift.mean_after - shift.mean_before) / base
            if abs(change) >= 0.01:
                way = "rose" if change > 0 else "fell"
                said.append(
                    f"{shift.name} {way} on average from {shift.mean_before:.4g} to "
                    f"{shift.mean_after:.4g} ({change:+.1%})."
                )
        if shift.nulls_after > shift.nulls_before:
            said.append(
                f"{shift.name} has {shift.nulls_after - shift.nulls_before:,} more empty values."
            )
    return said


async def compare(
    store: Store, principal: Principal, found: Found, before: int, after: int, key: str | None
) -> Comparison:
    """What changed from version ``before`` to ``after``: schema, rows (matched by ``key``
    when given) and per-column shifts. PII columns show counts only for those without the
    grant (their means are values too)."""
    old, new = await version(store, found, before), await version(store, found, after)
    old_types = {c.name: c.type for c in old.schema}
    new_types = {c.name: c.type for c in new.schema}
    common = [name for name in new_types if name in old_types]
    same_type = [name for name in common if old_types[name] == new_types[name]]
    added = [name for name in new_types if name not in old_types]
    removed = [name for name in old_types if name not in new_types]
    retyped = [(n, old_types[n], new_types[n]) for n in common if old_types[n] != new_types[n]]
    counts: tuple[int, int, int, int] | None = None
    if key is not None and key in await masked_columns(store, found):
        raise InvalidInput(
            f"{key} holds personal data: matching rows by it needs the PII right.", field="key"
        )
    if key is not None:
        if key not in same_type:
            raise InvalidInput(
                f"Match rows by a column both versions have, of the same type; {key!r} is not.",
                field="key",
            )
        counts = await store.datasets.key_changes(
            await paths_of(store, await store.datasets.files(old.id)),
            await paths_of(store, await store.datasets.files(new.id)),
            key,
            [c for c in same_type if c != key],
        )
    masked = await masked_columns(store, found)
    old_profile, new_profile = old.profile, new.profile
    shifts = []
    for name in same_type:
        a, b = old_profile.get(name, {}), new_profile.get(name, {})
        hidden = name in masked
        shifts.append(
            ColumnShift(
                name,
                new_types[name],
                int(a.get("nulls", 0)),
                int(b.get("nulls", 0)),
                a.get("distinct"),
                b.get("distinct"),
                None if hidden else _mean(a),
                None if hidden else _mean(b),
            )
        )
    result = Comparison(
        old.number,
        new.number,
        old.row_count,
        new.row_count,
        added,
        removed,
        retyped,
        key,
        counts[0] if counts else None,
        counts[1] if counts else None,
        counts[2] if counts else None,
        counts[3] if counts else None,
        shifts,
        [],
    )
    await audit.read(
        store,
        principal,
        "dataset.compare",
        "dataset",
        found.dataset.id,
        found.project.id,
        old.row_count + new.row_count,
    )
    return dataclasses.replace(result, summary=_summary(result))
