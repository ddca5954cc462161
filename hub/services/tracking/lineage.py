"""Lineage: which dataset versions a run read or produced, and which runs used a version.

Both directions respect access: a restricted dataset, or a run in a project the caller cannot
read, is left out as if it were not there.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from hub.clock import now
from hub.domain.data import DatasetRecord, DatasetUse, DatasetVersionRecord
from hub.domain.tracking import ProjectRecord, RunRecord
from hub.errors import InvalidInput
from hub.services.data import datasets
from hub.services.policy import access, audit, permissions
from hub.services.policy.principal import Principal
from hub.services.tracking.runs import writable_run
from hub.store import Store

DIRECTIONS = ("input", "output")


@dataclasses.dataclass(frozen=True, slots=True)
class UsedVersion:
    use: DatasetUse
    project: ProjectRecord
    dataset: DatasetRecord
    version: DatasetVersionRecord


async def use_dataset(
    store: Store,
    principal: Principal,
    run_id: str,
    project: str,
    name: str,
    number: int | None,
    direction: str = "input",
) -> UsedVersion:
    """Record that a run read (or produced) a dataset version; the latest when no number."""
    if direction not in DIRECTIONS:
        raise InvalidInput("direction is input or output.", field="direction")
    run = await writable_run(store, principal, run_id, "run.use_dataset")
    found = await datasets.find(store, principal, project, name, action="run.use_dataset")
    record = await datasets.version(store, found, number)
    use = DatasetUse(run.id, record.id, found.dataset.id, found.project.id, direction, now())
    events = [audit.event(principal, "run.use_dataset", "run", run.id, run.project_id, rows=1)]
    await store.datasets.record_use(use, audit=events)
    return UsedVersion(use, found.project, found.dataset, record)


async def data_of_runs(
    store: Store, principal: Principal, runs: list[RunRecord]
) -> dict[str, list[UsedVersion]]:
    """What data each run saw or made (runs already shown to the caller), per run id."""
    uses = await store.datasets.uses(run_ids=[run.id for run in runs])
    if not uses:
        return {}
    visible: set[str] = set()
    by_project: dict[str, list[str]] = defaultdict(list)
    for use in uses:
        by_project[use.project_id].append(use.dataset_id)
    for project_id, ids in by_project.items():
        visible |= await access.visible_objects(store, principal, project_id, "dataset", ids)
    found = await store.datasets.by_ids(sorted(visible))
    versions = await store.datasets.versions_by_ids([u.version_id for u in uses])
    projects = await store.projects.by_ids(list(by_project))
    result: dict[str, list[UsedVersion]] = defaultdict(list)
    for use in uses:
        if use.dataset_id in found:
            result[use.run_id].append(
                UsedVersion(
                    use, projects[use.project_id], found[use.dataset_id], versions[use.version_id]
                )
            )
    return result


async def runs_of_version(
    store: Store, principal: Principal, found: datasets.Found, record: DatasetVersionRecord
) -> list[tuple[DatasetUse, RunRecord]]:
    """Runs that read or produced this version, among those the caller may read."""
    uses = await store.datasets.uses(version_ids=[record.id])
    runs = await store.runs.by_ids([use.run_id for use in uses])
    readable = await permissions.readable_projects(
        store, principal, {run.project_id for run in runs.values()}
    )
    shown = [
        (use, runs[use.run_id])
        for use in uses
        if use.run_id in runs and runs[use.run_id].project_id in readable
    ]
    await audit.read(
        store,
        principal,
        "lineage.read",
        "dataset",
        found.dataset.id,
        found.project.id,
        len(shown),
    )
    return shown
