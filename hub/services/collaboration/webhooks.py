"""Webhooks: a project's activity, pushed to other systems as it happens.

Maintainers add a URL and the kinds of entries it wants (verb prefixes: ``run.finish``,
``comment.``); each entry becomes a message in the outbox in the same transaction as the change.
:class:`Deliverer` sends due messages signed the Standard Webhooks way (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), retries failures with growing pauses, gives a
message up after the last pause, and disables a webhook after too many failures in a row.
Entries about restricted datasets are never sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections import defaultdict
from datetime import datetime, timedelta

import httpcore
from standardwebhooks.webhooks import Webhook

from hub.clock import now
from hub.domain.collaboration import ActivityRecord, DeliveryRecord, WebhookRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.ids import new_id
from hub.services.data import datasets
from hub.services.policy import audit, permissions
from hub.services.policy.egress import Refused, check_url, client, networks, resolve
from hub.services.policy.permissions import MANAGE
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store

log = logging.getLogger("salon.webhooks")
FORMATS = ("standard", "slack")
MAX_WEBHOOKS = 20  # per project
MAX_EVENTS = 50


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def _managed(store: Store, principal: Principal, project: str, action: str) -> str:
    found = await datasets.find_project(store, principal, project, action)
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        MANAGE,
        action=action,
        object_kind="project",
        object_id=found.project.id,
    )
    return found.project.id


async def create(
    store: Store,
    settings: Settings,
    principal: Principal,
    project: str,
    url: str,
    events: list[str],
    format: str = "standard",
) -> WebhookRecord:
    """A new webhook (maintainers); its secret is in the record, shown to its creator once."""
    project_id = await _managed(store, principal, project, "webhook.create")
    if format not in FORMATS:
        raise InvalidInput(f"The format is one of {', '.join(FORMATS)}.", field="format")
    events = [e.strip() for e in events if e.strip()]
    if len(events) > MAX_EVENTS or any(len(e) > 100 for e in events):
        raise LimitExceeded(
            f"Name at most {MAX_EVENTS} kinds of entries, each short.", field="events"
        )
    _, host, port = check_url(url)
    try:
        await resolve(host, port, networks(settings.webhook_allow_networks))
    except Refused as exc:
        raise InvalidInput(str(exc), field="url") from None
    if len(await store.webhooks.of_project(project_id)) >= MAX_WEBHOOKS:
        raise LimitExceeded(f"A project has at most {MAX_WEBHOOKS} webhooks.", field="url")
    hook = WebhookRecord(
        new_id(), project_id, url.strip(), new_secret(), events, format, principal.user_id, now()
    )
    event = audit.event(principal, "webhook.create", "webhook", hook.id, project_id)
    return await store.webhooks.create(hook, audit=[event])


async def of_project(store: Store, principal: Principal, project: str) -> list[WebhookRecord]:
    project_id = await _managed(store, principal, project, "webhooks.list")
    found = await store.webhooks.of_project(project_id)
    await audit.read(
        store, principal, "webhooks.list", "project", project_id, project_id, len(found)
    )
    return found


async def _own(store: Store, principal: Principal, hook_id: str, action: str) -> WebhookRecord:
    hook = await store.webhooks.by_id(hook_id)
    if hook is None:
        await audit.deny(store, principal, action, "webhook", hook_id)
        raise permissions.not_found(f"webhook with id {hook_id!r}")
    await permissions.require(
        store,
        principal,
        hook.project_id,
        MANAGE,
        action=action,
        object_kind="webhook",
        object_id=hook.id,
        what=f"webhook with id {hook_id!r}",
    )
    return hook


async def delete(store: Store, principal: Principal, hook_id: str) -> None:
    hook = await _own(store, principal, hook_id, "webhook.delete")
    event = audit.event(principal, "webhook.delete", "webhook", hook.id, hook.project_id)
    await store.webhooks.delete(hook.id, audit=[event])


async def enable(store: Store, principal: Principal, hook_id: str) -> WebhookRecord:
    """Turn a disabled webhook on again; waiting messages are then sent."""
    hook = await _own(store, principal, hook_id, "webhook.enable")
    event = audit.event(principal, "webhook.enable", "webhook", hook.id, hook.project_id)
    enabled = await store.webhooks.enable(hook.id, audit=[event])
    assert enabled is not None
    return enabled


async def deliveries(
    store: Store, principal: Principal, hook_id: str, limit: int = 50
) -> list[DeliveryRecord]:
    hook = await _own(store, principal, hook_id, "webhook.deliveries")
    return await store.webhooks.deliveries(hook.id, max(1, min(limit, 200)))


# Delivering ----------------------------------------------------------------------------------


def payload(hook: WebhookRecord, entry: ActivityRecord, actor: str, project: str) -> str:
    """The body a webhook receives: Standard Webhooks' {type, timestamp, data}, or a
    Slack-compatible {text}."""
    if hook.format == "slack":
        return json.dumps({"text": f"*{actor}* {entry.summary} ({project})"})
    return json.dumps(
        {
            "type": entry.verb,
            "timestamp": entry.at.isoformat(),
            "data": {
                "id": entry.id,
                "project": project,
                "actor": actor,
                "summary": entry.summary,
                "objectKind": entry.object_kind,
                "objectId": entry.object_id,
                "targetKind": entry.target_kind,
                "targetId": entry.target_id,
                "detail": dict(entry.detail),
            },
        }
    )


class Deliverer:
    """Sends due outbox messages, a round at a time (``deliver_due``): each webhook's in order,
    retried with pauses and disabled after too many failures in a row. The hub's webhook worker
    (``hub/workers/webhooks.py``) calls it whenever a change commits, and every second."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.pauses = [float(p) for p in settings.webhook_retry_seconds.split(",") if p.strip()]
        self.disable_after = settings.webhook_disable_after
        self.timeout = settings.webhook_timeout_seconds
        self._pool = client(networks(settings.webhook_allow_networks))

    async def close(self) -> None:
        await self._pool.aclose()

    async def deliver_due(self) -> int:
        """One round: every due message, each webhook's in order, webhooks side by side."""
        due = await self.store.webhooks.due(now(), 200)
        by_hook: dict[str, list[DeliveryRecord]] = defaultdict(list)
        for message in due:
            by_hook[message.webhook_id].append(message)
        await asyncio.gather(*(self._drain(hook_id, queue) for hook_id, queue in by_hook.items()))
        return len(due)

    async def _drain(self, hook_id: str, queue: list[DeliveryRecord]) -> None:
        hook = await self.store.webhooks.by_id(hook_id)
        for message in queue:
            if hook is None or hook.disabled_at is not None:
                return
            if await self._send(hook, message):
                hook = await self.store.webhooks.by_id(hook_id)  # disabled meanwhile?

    async def _send(self, hook: WebhookRecord, message: DeliveryRecord) -> bool:
        """One attempt; True when it failed (the webhook may have been disabled)."""
        entries = await self.store.activity.by_ids([message.activity_id])
        entry = entries.get(message.activity_id)
        if entry is None:  # cannot happen: entries are never deleted
            return False
        if (
            entry.guard_kind
            and entry.guard_id
            and await self.store.access.restrictions(entry.guard_kind, [entry.guard_id])
        ):  # restricted since it was queued: it stays in the hub
            await self.store.webhooks.failed(
                message.id, hook.id, None, "restricted since", None, now(), self.disable_after + 1
            )
            return False
        users = await self.store.users.by_ids([entry.actor_id])
        actor = users[entry.actor_id].name if entry.actor_id in users else "salon"
        projects = await self.store.projects.by_ids([hook.project_id])
        body = payload(hook, entry, actor, projects[hook.project_id].name)
        sent_at = now()
        headers = {
            "content-type": "application/json",
            "user-agent": "Salon-Webhooks/1",
            "webhook-id": message.id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(hook.secret).sign(message.id, sent_at, body),
        }
        status, error = None, ""
        try:
            response = await asyncio.wait_for(
                self._pool.request(
                    "POST",
                    hook.url,
                    headers=list(headers.items()),
                    content=body.encode(),
                    extensions={"timeout": {"connect": self.timeout, "read": self.timeout}},
                ),
                timeout=self.timeout + 1,
            )
            status = response.status
            if 200 <= status < 300:
                await self.store.webhooks.delivered(message.id, hook.id, status, now())
                return False
            where = next(
                (
                    v.decode(errors="replace")
                    for k, v in response.headers
                    if k.lower() == b"location"
                ),
                "",
            )
            error = f"HTTP {status}" + (f" (redirect to {where} not followed)" if where else "")
        except Refused as exc:
            error = str(exc)
        except (httpcore.TimeoutException, TimeoutError):
            error = f"no answer within {self.timeout:.0f} s"
        except httpcore.NetworkError as exc:
            error = f"could not connect ({exc or type(exc).__name__})"
        except httpcore.ProtocolError as exc:
            error = f"bad answer ({exc or type(exc).__name__})"
        retry_at = next_attempt(self.pauses, message.attempts + 1, now())
        disabled = await self.store.webhooks.failed(
            message.id, hook.id, status, error, retry_at, now(), self.disable_after
        )
        if disabled:
            log.warning("Disabled webhook %s of project %s: %s", hook.id, hook.project_id, error)
        return True


def next_attempt(pauses: list[float], attempts: int, at: datetime) -> datetime | None:
    """When to try a message again after ``attempts`` failed ones (None: give it up)."""
    return at + timedelta(seconds=pauses[attempts - 1]) if attempts <= len(pauses) else None
