"""Tags on models and their versions, and versions' descriptions (editors change them)."""

from __future__ import annotations

from hub.domain.registry import ModelVersionRecord
from hub.errors import LimitExceeded
from hub.services.policy import audit
from hub.services.policy.limits import MAX_TAG_VALUE, check_key
from hub.services.policy.permissions import WRITE
from hub.services.policy.principal import Principal
from hub.services.registry import models
from hub.services.registry.models import FoundModel
from hub.services.registry.registration import MAX_DESCRIPTION, MAX_TAGS
from hub.store import Store


def _value(value: str) -> str:
    if len(value) > MAX_TAG_VALUE:
        raise LimitExceeded(
            f"A tag value is limited to {MAX_TAG_VALUE:,} characters.", field="value"
        )
    return value


async def set_model_tag(
    store: Store, principal: Principal, project: str, name: str, key: str, value: str | None
) -> FoundModel:
    """Set a tag on a model (``None`` removes it)."""
    found = await models.find(store, principal, project, name, WRITE, "model.tag")
    check_key(key, "tag")
    if value is not None:
        _value(value)
        if len(await model_tags(store, found)) >= MAX_TAGS:
            raise LimitExceeded(f"A model keeps at most {MAX_TAGS} tags.", field="key")
    events = [audit.event(principal, "model.tag", "model", found.model.id, found.project.id)]
    await audit.change(
        store, events, store.models.set_tag(found.model.id, key, value, audit=events)
    )
    return found


async def model_tags(store: Store, found: FoundModel) -> dict[str, str]:
    """The tags of a model the caller has been allowed to read."""
    return (await store.models.tags([found.model.id])).get(found.model.id, {})


async def _version(
    store: Store, principal: Principal, project: str, name: str, number: int, action: str
) -> tuple[FoundModel, ModelVersionRecord]:
    found = await models.find(store, principal, project, name, WRITE, action)
    version = await models.numbered(store, found, number)
    return found, version


async def set_version_tag(
    store: Store,
    principal: Principal,
    project: str,
    name: str,
    number: int,
    key: str,
    value: str | None,
) -> ModelVersionRecord:
    """Set a tag on a version (``None`` removes it)."""
    found, version = await _version(store, principal, project, name, number, "model.tag")
    check_key(key, "tag")
    tags = dict(version.tags)
    if value is None:
        tags.pop(key, None)
    else:
        tags[key] = _value(value)
    if len(tags) > MAX_TAGS:
        raise LimitExceeded(f"A version keeps at most {MAX_TAGS} tags.", field="key")
    events = [audit.event(principal, "model.tag", "model_version", version.id, found.project.id)]
    await audit.change(store, events, store.models.set_version_tags(version.id, tags, audit=events))
    return await models.numbered(store, found, number)


async def describe_version(
    store: Store, principal: Principal, project: str, name: str, number: int, description: str
) -> ModelVersionRecord:
    found, version = await _version(store, principal, project, name, number, "model.describe")
    if len(description) > MAX_DESCRIPTION:
        raise LimitExceeded(
            f"The description is longer than {MAX_DESCRIPTION:,} characters.", field="description"
        )
    events = [
        audit.event(principal, "model.describe", "model_version", version.id, found.project.id)
    ]
    await audit.change(
        store, events, store.models.describe_version(version.id, description, audit=events)
    )
    return await models.numbered(store, found, number)
