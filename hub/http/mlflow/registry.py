"""MLflow's model registry calls (``/api/2.0/mlflow/registered-models|model-versions``) over
Salon's registry. A registered model is a Salon model (named ``project.model`` unless it is in
the MLflow project); its versions, aliases, tags and descriptions are Salon's, so an alias
guarded by a promotion policy stays guarded when moved through MLflow.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.requests import Request

from hub.domain.registry import ModelAlias, ModelVersionRecord
from hub.errors import InvalidInput, NotFound
from hub.http.mlflow.filters import View, view_filter, view_order
from hub.http.mlflow.protocol import (
    MAX_RESULTS,
    Fields,
    listed,
    millis,
    offset_of,
    optional_text,
    page_size,
    pairs,
    parts,
    text,
    whole,
)
from hub.services.lifecycle import trash
from hub.services.policy.permissions import WRITE
from hub.services.policy.principal import Principal
from hub.services.registry import model_tags, model_views, models, promotion, registration
from hub.services.registry.models import FoundModel
from hub.services.tracking import logged_models, mlflow_names, projects, runs
from hub.services.tracking.mlflow_names import Name
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

MODEL_ID_TAG = "salon.mlflow.model_id"  # the logged model a version came from
# MLflow's stages are Salon's aliases of the same names: a version is in Production while the
# alias production points at it (moved through the model's promotion policy like any alias).
STAGES = {"staging": "Staging", "production": "Production"}
_STAGE_NAMES = {"none": "None", "archived": "Archived", **STAGES}
ARCHIVED_TAG = "salon.mlflow.archived"  # a version MLflow moved to Archived
MAX_COPIES = 10  # how many copies of copies a download URI is followed through
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


async def _name(store: Store, settings: Settings, principal: Principal, fields: Fields) -> Name:
    home = await mlflow_names.home_project(store, settings, principal)
    return await mlflow_names.split_model(store, text(fields, "name"), home)


async def _found(request: Request, fields: Fields, needed: str = "viewer") -> FoundModel:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    if needed == WRITE:
        return await models.find(
            store, principal, wanted.project, wanted.name, WRITE, "model.update"
        )
    return await models.read(store, principal, wanted.project, wanted.name)


def _number(fields: Fields) -> int:
    value = fields.get("version")
    if isinstance(value, str) and not value.strip().isdigit():
        raise InvalidInput(
            f"Parameter 'version' must be an integer, got '{value}'.", field="version"
        )
    number = whole(fields, "version")
    if number < 1:
        raise InvalidInput("A version number is 1 or more.", field="version")
    return number


async def _mlflow_name(request: Request, found: FoundModel) -> str:
    store, settings, principal = parts(request)
    home = await mlflow_names.home_project(store, settings, principal)
    return mlflow_names.joined_model(found.project, found.model.name, home)


def stage_of(version: ModelVersionRecord, aliases: list[ModelAlias]) -> str:
    held = {a.alias for a in aliases if a.version_id == version.id}
    other = "Archived" if ARCHIVED_TAG in dict(version.tags) else "None"
    return next((STAGES[alias] for alias in ("production", "staging") if alias in held), other)


def version_fields(name: str, version: ModelVersionRecord, aliases: list[ModelAlias]) -> Fields:
    tags = dict(version.tags)
    return {
        "name": name,
        "version": str(version.number),
        "creation_timestamp": millis(version.created_at),
        "last_updated_timestamp": millis(version.updated_at or version.created_at),
        "user_id": version.created_by,
        "current_stage": stage_of(version, aliases),
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id or version.run_reference or "",
        "status": "READY",  # the client waits while a version is not READY
        "tags": [
            {"key": k, "value": v} for k, v in tags.items() if k not in (MODEL_ID_TAG, ARCHIVED_TAG)
        ],
        "aliases": [a.alias for a in aliases if a.version_id == version.id],
        "model_id": tags.get(MODEL_ID_TAG, ""),
    }


async def _model_fields(request: Request, found: FoundModel) -> Fields:
    store, _, _ = parts(request)
    name = await _mlflow_name(request, found)
    versions, aliases = await model_views.versions_and_aliases(store, found.model)
    numbers = {v.id: v.number for v in versions}
    tags = await model_tags.model_tags(store, found)
    changed = found.model.updated_at or found.model.created_at
    return {
        "name": name,
        "creation_timestamp": millis(found.model.created_at),
        "last_updated_timestamp": millis(max([changed, *(v.created_at for v in versions)])),
        "user_id": found.model.created_by,
        "description": found.model.description,
        "latest_versions": _latest(name, versions, aliases, []),
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
        "aliases": [{"alias": a.alias, "version": str(numbers[a.version_id])} for a in aliases],
    }


# Registered models ---------------------------------------------------------------------------


async def create_model(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    # As experiments do: the project is made first when the caller may make projects (the
    # MLflow project, on a fresh hub, for a model named without one).
    await projects.ensure_project(store, principal, wanted.project)
    await registration.create_model(
        store, principal, wanted.project, wanted.name, optional_text(fields, "description") or ""
    )
    for key, value in pairs(fields, "tags"):
        await model_tags.set_model_tag(store, principal, wanted.project, wanted.name, key, value)
    found = await models.read(store, principal, wanted.project, wanted.name)
    return {"registered_model": await _model_fields(request, found)}


async def get_model(request: Request, fields: Fields) -> Fields:
    return {"registered_model": await _model_fields(request, await _found(request, fields))}


async def rename_model(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    home = await mlflow_names.home_project(store, settings, principal)
    target = await mlflow_names.split_model(store, text(fields, "new_name"), home)
    if target.project != wanted.project:
        raise InvalidInput(f"A model stays in its project ({wanted.project}).", field="new_name")
    await registration.rename_model(store, principal, wanted.project, wanted.name, target.name)
    found = await models.read(store, principal, target.project, target.name)
    return {"registered_model": await _model_fields(request, found)}


async def update_model(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    description = optional_text(fields, "description")
    if description is not None:
        await registration.describe(store, principal, wanted.project, wanted.name, description)
    found = await models.read(store, principal, wanted.project, wanted.name)
    return {"registered_model": await _model_fields(request, found)}


async def set_model_tag(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    await model_tags.set_model_tag(
        store,
        principal,
        wanted.project,
        wanted.name,
        text(fields, "key"),
        text(fields, "value", ""),
    )
    return {}


async def delete_model_tag(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    await model_tags.set_model_tag(
        store, principal, wanted.project, wanted.name, text(fields, "key"), None
    )
    return {}


async def delete_model(request: Request, fields: Fields) -> Fields:
    """Moves the registered model and its versions to Salon's trash."""
    store, _, principal = parts(request)
    found = await _found(request, fields)
    await trash.move_to_trash(store, principal, "model", found.model.id)
    return {}


async def delete_version(request: Request, fields: Fields) -> Fields:
    """Moves the version to Salon's trash; refused while an alias points at it."""
    store, _, principal = parts(request)
    found = await _found(request, fields)
    version = await models.numbered(store, found, _number(fields))
    await trash.move_to_trash(store, principal, "model_version", version.id)
    return {}


_PROMPT = re.compile(r"^\s*tags?\.`?mlflow\.prompt\.is_prompt`?\s*(!=|=)\s*'true'\s*$", re.I)


def _clauses(filter_text: str | None) -> tuple[list[str], bool]:
    """The filter's AND-ed clauses without MLflow's prompt clause (Salon keeps no prompts),
    and whether the caller asked for prompts only."""
    clauses = []
    for clause in re.split(r"\s+and\s+", filter_text or "", flags=re.I):
        prompt = _PROMPT.match(clause)
        if prompt:
            if prompt.group(1) == "=":
                return [], True
        elif clause.strip():
            clauses.append(clause)
    return clauses, False


_MODEL_ORDER = ("name", "last_updated_timestamp", "timestamp")


async def search_models(request: Request, fields: Fields) -> Fields:
    """MLflow's filter over the name and tags (``name LIKE 'vision.%' AND tags.team = 'cv'``)
    and its order (by name unless ``order_by`` says otherwise)."""
    store, _, principal = parts(request)
    clauses, prompts = _clauses(optional_text(fields, "filter"))
    if prompts:
        return {"registered_models": []}
    test = view_filter(" AND ".join(clauses), ("name",))
    limit = page_size(fields, 100, MAX_RESULTS)
    offset = offset_of(fields)
    shown: dict[int, Fields] = {}
    views = []
    for held in await mlflow_names.every_model(store, principal):
        answer = await _model_fields(request, held)
        view = View(
            {
                "name": answer["name"],
                "last_updated_timestamp": answer["last_updated_timestamp"],
                "timestamp": answer["last_updated_timestamp"],
            },
            {t["key"]: t["value"] for t in answer["tags"]},
        )
        if test(view):
            shown[id(view)] = answer
            views.append(view)
    ordered = view_order(listed(fields, "order_by"), [], ["name ASC"], views, _MODEL_ORDER)
    result: Fields = {"registered_models": [shown[id(v)] for v in ordered[offset : offset + limit]]}
    if offset + limit < len(ordered):
        result["next_page_token"] = str(offset + limit)
    return result


# Aliases ---------------------------------------------------------------------------------


def _alias(fields: Fields) -> str:
    alias = text(fields, "alias")
    if _RESERVED_ALIAS.match(alias):
        raise InvalidInput(f"'{alias}' is reserved and cannot be used as an alias.", field="alias")
    return alias


async def set_alias(request: Request, fields: Fields) -> Fields:
    """Point an alias at a version; where it points already, nothing changes (as MLflow)."""
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    alias, number = _alias(fields), _number(fields)
    found = await models.read(store, principal, wanted.project, wanted.name)
    at = {a.alias: a.version_id for a in await model_views.aliases(store, found.model)}
    if alias in at and at[alias] == (await models.numbered(store, found, number)).id:
        return {}
    await promotion.move_alias(store, principal, wanted.project, wanted.name, alias, number)
    return {}


async def delete_alias(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    await promotion.move_alias(store, principal, wanted.project, wanted.name, _alias(fields), None)
    return {}


async def version_by_alias(request: Request, fields: Fields) -> Fields:
    store, _, _ = parts(request)
    found = await _found(request, fields)
    alias = text(fields, "alias")
    aliases = await model_views.aliases(store, found.model)
    at = next((a for a in aliases if a.alias == alias), None)
    if at is None:
        raise NotFound(f"Registered model alias {alias} not found.", field="alias")
    version = await model_views.version(store, at.version_id)
    return {"model_version": version_fields(await _mlflow_name(request, found), version, aliases)}


# Versions --------------------------------------------------------------------------------


def _run_of(source: str, run_id: str | None) -> str | None:
    """The run a version comes from: ``run_id`` as given, else the one its ``runs:/`` source
    names. Both given must agree, as MLflow's server checks."""
    match = re.match(r"^runs:/([^/]+)", source)
    if run_id and match and match.group(1) != run_id:
        raise InvalidInput(
            f"Invalid model version source: {source!r}. The run_id request parameter must "
            "identify the resource that contains the source.",
            field="source",
        )
    return run_id or (match.group(1) if match else None)


async def create_version(request: Request, fields: Fields) -> Fields:
    """A version from a run of the model's project when the run id names one the caller may
    read; otherwise, as MLflow allows, a version from outside Salon, keeping the run id given
    (if any) as a reference only (no such run and a run the caller may not see answer alike,
    so nothing is learnt of hidden runs)."""
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    source = text(fields, "source")
    model_id = optional_text(fields, "model_id")
    run_id = _run_of(source, optional_text(fields, "run_id"))
    if run_id is None and model_id is not None:
        run_id = (await logged_models.get(store, principal, model_id)).run_id
    tags = dict(pairs(fields, "tags"))
    if model_id:
        tags[MODEL_ID_TAG] = model_id
    description = optional_text(fields, "description") or ""
    run = await runs.readable_run(store, principal, run_id) if run_id else None
    if run is None:
        await projects.ensure_project(store, principal, wanted.project)
        model, version, _ = await registration.register_outside(
            store, principal, wanted.project, wanted.name, source, description, tags, run_id or None
        )
    else:
        await mlflow_names.check_run_project(store, run, wanted.project, text(fields, "name"))
        model, version, _ = await registration.register(
            store, principal, run.id, wanted.name, source, description, tags
        )
    aliases = await model_views.aliases(store, model)
    return {"model_version": version_fields(text(fields, "name"), version, aliases)}


async def _version_answer(request: Request, found: FoundModel, number: int) -> Fields:
    store, _, _ = parts(request)
    version = await models.numbered(store, found, number)
    aliases = await model_views.aliases(store, found.model)
    return {"model_version": version_fields(await _mlflow_name(request, found), version, aliases)}


async def get_version(request: Request, fields: Fields) -> Fields:
    return await _version_answer(request, await _found(request, fields), _number(fields))


async def update_version(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    description = optional_text(fields, "description")
    if description is not None:
        await model_tags.describe_version(
            store, principal, wanted.project, wanted.name, _number(fields), description
        )
    return await get_version(request, fields)


async def set_version_tag(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    await model_tags.set_version_tag(
        store,
        principal,
        wanted.project,
        wanted.name,
        _number(fields),
        text(fields, "key"),
        text(fields, "value", ""),
    )
    return {}


async def delete_version_tag(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    await model_tags.set_version_tag(
        store, principal, wanted.project, wanted.name, _number(fields), text(fields, "key"), None
    )
    return {}


_COPIED_FROM = re.compile(r"^models:/([^/@]+)/(\d+)$")


async def download_uri(request: Request, fields: Fields) -> Fields:
    """Where the version's files are. A copied version's source names the version it was
    copied from (``models:/name/1``, as ``copy_model_version`` writes it); its files are that
    one's, followed through copies of copies as MLflow does."""
    source = (await get_version(request, fields))["model_version"]["source"]
    for _ in range(MAX_COPIES):
        copied = _COPIED_FROM.match(source)
        if copied is None:
            break
        try:
            found = await get_version(request, {"name": copied[1], "version": copied[2]})
        except NotFound:
            break
        source = found["model_version"]["source"]
    return {"artifact_uri": source}


def _latest(
    name: str, versions: list[ModelVersionRecord], aliases: list[ModelAlias], stages: list[str]
) -> list[Fields]:
    """The newest version in each stage asked for (every stage with a version when none is),
    by version number, as MLflow answers."""
    wanted = {_STAGE_NAMES.get(s.lower(), s) for s in stages}
    newest: dict[str, ModelVersionRecord] = {}
    for version in versions:
        stage = stage_of(version, aliases)
        if (not wanted or stage in wanted) and (
            stage not in newest or version.number > newest[stage].number
        ):
            newest[stage] = version
    chosen = sorted(newest.values(), key=lambda v: v.number)
    return [version_fields(name, v, aliases) for v in chosen]


async def latest_versions(request: Request, fields: Fields) -> Fields:
    store, _, _ = parts(request)
    found = await _found(request, fields)
    stages = listed(fields, "stages")
    unknown = [s for s in stages if s.lower() not in _STAGE_NAMES]
    if unknown:
        raise InvalidInput(
            f"Invalid Model Version stage: {unknown[0]}. Value must be one of None, Staging, "
            "Production, Archived.",
            field="stages",
        )
    versions, aliases = await model_views.versions_and_aliases(store, found.model)
    name = await _mlflow_name(request, found)
    return {"model_versions": _latest(name, versions, aliases, stages)}


async def transition_stage(request: Request, fields: Fields) -> Fields:
    """Staging and Production move the alias of that name to the version (through the
    model's promotion policy); None and Archived take the version out of both, Archived
    marking it so."""
    store, settings, principal = parts(request)
    wanted = await _name(store, settings, principal, fields)
    number, stage = _number(fields), text(fields, "stage").lower()
    if stage not in _STAGE_NAMES:
        raise InvalidInput(
            f"Invalid Model Version stage: {text(fields, 'stage')}. Value must be one of None, "
            "Staging, Production, Archived.",
            field="stage",
        )
    found = await models.read(store, principal, wanted.project, wanted.name)
    version = await models.numbered(store, found, number)
    held = {
        a.alias for a in await model_views.aliases(store, found.model) if a.version_id == version.id
    }
    if stage in STAGES and stage not in held:
        await promotion.move_alias(store, principal, wanted.project, wanted.name, stage, number)
    for alias in sorted(set(STAGES) - {stage}):
        if alias in held:
            await promotion.move_alias(store, principal, wanted.project, wanted.name, alias, None)
    archived = ARCHIVED_TAG in dict(version.tags)
    if archived != (stage == "archived"):
        await model_tags.set_version_tag(
            store,
            principal,
            wanted.project,
            wanted.name,
            number,
            ARCHIVED_TAG,
            "true" if stage == "archived" else None,
        )
    return await _version_answer(request, found, number)


_VERSION_ATTRIBUTES = ("name", "run_id", "source_path", "version_number")
_VERSION_ORDER = ("name", "version_number", "creation_timestamp", "last_updated_timestamp")


async def search_versions(request: Request, fields: Fields) -> Fields:
    """MLflow's filter (name, run_id, source_path, version_number and tags, with =, !=,
    LIKE, ILIKE, IN) and order (by default last updated first, then name, then newest
    version)."""
    store, settings, principal = parts(request)
    clauses, prompts = _clauses(optional_text(fields, "filter"))
    if prompts:
        return {"model_versions": []}
    test = view_filter(" AND ".join(clauses), _VERSION_ATTRIBUTES)
    limit = page_size(fields, 10_000, 200_000)
    offset = offset_of(fields)
    home = await mlflow_names.home_project(store, settings, principal)
    shown: list[tuple[View, Fields]] = []
    for held in await mlflow_names.every_model(store, principal):
        name = mlflow_names.joined_model(held.project, held.model.name, home)
        versions, aliases = await model_views.versions_and_aliases(store, held.model)
        for version in versions:
            fields_of = version_fields(name, version, aliases)
            view = View(
                {
                    "name": name,
                    "run_id": fields_of["run_id"] or "",
                    "source_path": fields_of["source"],
                    "version_number": version.number,
                    "creation_timestamp": fields_of["creation_timestamp"],
                    "last_updated_timestamp": fields_of["last_updated_timestamp"],
                },
                {t["key"]: t["value"] for t in fields_of["tags"]},
            )
            if test(view):
                shown.append((view, fields_of))
    answers = {id(view): made for view, made in shown}
    ordered = view_order(
        listed(fields, "order_by"),
        ["last_updated_timestamp DESC", "name ASC", "version_number DESC"],
        ["name ASC", "version_number DESC"],
        [view for view, _ in shown],
        _VERSION_ORDER,
    )
    found = [answers[id(view)] for view in ordered]
    page: Fields = {"model_versions": found[offset : offset + limit]}
    if offset + limit < len(found):
        page["next_page_token"] = str(offset + limit)
    return page
