"""How MLflow's flat names map onto Salon's projects.

MLflow has no projects: an experiment or a registered model has one name. In Salon it lives
in a project, so the MLflow name of experiment ``baseline`` in project ``vision`` is
``vision/baseline``, and of model ``detector`` in that project ``vision.detector`` (MLflow
forbids '/' in model names). A name without a project prefix (or one that starts with ``/``,
as Databricks paths do) belongs to the *MLflow project*: the project a token is scoped to when
it is scoped to exactly one, otherwise ``SALON_MLFLOW_PROJECT`` (``mlflow``). MLflow's default
experiment ``"0"`` is the experiment ``Default`` of that project.
"""

from __future__ import annotations

import dataclasses

from hub.domain.tracking import ExperimentRecord, ProjectRecord, RunRecord
from hub.errors import AlreadyExists, InvalidInput, NotFound
from hub.services.policy import audit, permissions
from hub.services.policy.limits import check_name
from hub.services.policy.principal import Principal
from hub.services.registry.models import FoundModel
from hub.services.tracking import projects
from hub.settings import Settings
from hub.store import Store

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT = "Default"


@dataclasses.dataclass(frozen=True, slots=True)
class Name:
    project: str
    name: str


async def home_project(store: Store, settings: Settings, principal: Principal) -> str:
    """The project that names without a prefix belong to, for this caller."""
    if principal.scope_projects is not None and len(principal.scope_projects) == 1:
        found = await store.projects.by_ids(list(principal.scope_projects))
        if found:
            return next(iter(found.values())).name
    return settings.mlflow_project


def split(name: str, home: str) -> Name:
    """``"vision/baseline"`` → (vision, baseline); ``"baseline"`` → (home, baseline)."""
    name = check_name(name, "experiment")
    project, slash, rest = name.partition("/")
    if slash and project and rest:
        return Name(project, rest)
    return Name(home, name)


async def split_model(store: Store, name: str, home: str) -> Name:
    """Registered model names may not hold '/', so a model's project comes before a dot, as
    Unity Catalog's ``catalog.schema.model``: ``"vision.detector"`` is model ``detector`` of
    project ``vision`` when that project exists; any other name is a model of ``home``."""
    name = check_name(name, "model")
    project, dot, rest = name.partition(".")
    if dot and project and rest and await store.projects.by_name(project) is not None:
        return Name(project, rest)
    return Name(home, name)


def joined_model(project: ProjectRecord, name: str, home: str) -> str:
    """The MLflow name of model ``name`` in ``project``."""
    return name if project.name == home else f"{project.name}.{name}"


def joined(project: ProjectRecord, name: str, home: str) -> str:
    """The MLflow name of ``name`` in ``project``."""
    return name if project.name == home else f"{project.name}/{name}"


async def experiment_named(
    store: Store, settings: Settings, principal: Principal, name: str
) -> tuple[ProjectRecord, ExperimentRecord]:
    """The experiment with this MLflow name, if the caller may read its project."""
    wanted = split(name, await home_project(store, settings, principal))
    project = await store.projects.by_name(wanted.project)
    experiment = (
        None
        if project is None
        else await store.projects.experiment_by_name(project.id, wanted.name)
    )
    if (
        project is None
        or experiment is None
        or not await permissions.readable_projects(store, principal, [project.id])
    ):
        await audit.deny(store, principal, "experiment.read", "experiment")
        raise NotFound(f"No experiment named {name!r}.", field="experiment_name")
    await audit.read(
        store, principal, "experiment.read", "experiment", experiment.id, project.id, 1
    )
    return project, experiment


async def create_experiment(
    store: Store, settings: Settings, principal: Principal, name: str
) -> tuple[ProjectRecord, ExperimentRecord]:
    """A new experiment (and its project, when the caller may create projects)."""
    wanted = split(name, await home_project(store, settings, principal))
    project = await projects.ensure_project(store, principal, wanted.project)
    if await store.projects.experiment_by_name(project.id, wanted.name) is not None:
        raise AlreadyExists(f"Experiment {name!r} already exists.", field="name")
    trashed = await store.projects.experiment_by_name(project.id, wanted.name, trashed=True)
    if trashed is not None:  # as MLflow answers for a deleted experiment's name
        raise AlreadyExists(
            f"Experiment {name!r} already exists in the trash; restore it, or choose another name.",
            field="name",
        )
    return project, await projects.ensure_experiment(store, principal, project, wanted.name)


async def default_experiment(
    store: Store, settings: Settings, principal: Principal
) -> tuple[ProjectRecord, ExperimentRecord]:
    """MLflow's experiment ``"0"``, made on first use by someone who may write there."""
    home = await home_project(store, settings, principal)
    try:
        return await experiment_named(store, settings, principal, f"{home}/{DEFAULT_EXPERIMENT}")
    except NotFound:
        project = await projects.ensure_project(store, principal, home)
        experiment = await projects.ensure_experiment(store, principal, project, DEFAULT_EXPERIMENT)
        return project, experiment


async def experiments(
    store: Store,
    settings: Settings,
    principal: Principal,
    ids: list[str],
    action: str,
    missing_ok: bool = False,
    view: str = "live",
) -> list[tuple[ProjectRecord, ExperimentRecord]]:
    """The experiments with these ids, in order, when the caller may read them all; NotFound
    naming the first that is missing or hidden (with ``missing_ok``, those are left out, as
    MLflow's run search leaves out unknown experiments)."""
    found: dict[str, tuple[ProjectRecord, ExperimentRecord]] = {}
    if DEFAULT_EXPERIMENT_ID in ids:
        found[DEFAULT_EXPERIMENT_ID] = await default_experiment(store, settings, principal)
    others = [i for i in dict.fromkeys(ids) if i != DEFAULT_EXPERIMENT_ID]
    records = await store.projects.experiments_by_ids(others, view)
    owners = await store.projects.by_ids(list({e.project_id for e in records.values()}))
    readable = await permissions.readable_projects(store, principal, set(owners))
    for experiment_id in others:
        experiment = records.get(experiment_id)
        if experiment is None or experiment.project_id not in readable:
            await audit.deny(store, principal, action, "experiment", experiment_id)
            if missing_ok:
                continue
            raise NotFound(f"No experiment with id {experiment_id!r}.", field="experiment_id")
        found[experiment_id] = (owners[experiment.project_id], experiment)
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def every_experiment(
    store: Store, principal: Principal, view: str = "live"
) -> list[tuple[ProjectRecord, ExperimentRecord]]:
    """Every experiment of every project the caller may read, by project then name
    (``view``: those in the trash left out, alone, or with the others)."""
    every = {p.id: p for p in await store.projects.all()}
    readable = await permissions.readable_projects(store, principal, set(every))
    found = await store.projects.experiments(sorted(readable), view)
    await audit.read(store, principal, "experiments.list", "project", None, None, len(found))
    return [(every[e.project_id], e) for e in found]


async def every_model(store: Store, principal: Principal) -> list[FoundModel]:
    """Every model of every project the caller may read, by project then name, with the
    caller's access (one audited read for them all)."""
    every = {p.id: p for p in await store.projects.all()}
    readable = await permissions.readable_projects(store, principal, set(every))
    found = []
    for project_id in sorted(readable, key=lambda i: every[i].name):
        access = await permissions.access_to(store, principal, project_id)
        assert access is not None, "readable projects are ones the caller holds access to"
        found += [
            FoundModel(model, every[project_id], access)
            for model in await store.models.of_project(project_id)
        ]
    await audit.read(store, principal, "model.list", "project", None, None, len(found))
    return found


async def check_run_project(store: Store, run: RunRecord, project: str, model: str) -> None:
    """A version of a model of ``project`` must come from a run of that project."""
    owner = (await store.projects.by_ids([run.project_id]))[run.project_id]
    if owner.name != project:
        raise InvalidInput(
            f"Run {run.id} is in project {owner.name}, but model {model!r} is in {project}; "
            f"register it as a model of {owner.name}.",
            field="name",
        )
