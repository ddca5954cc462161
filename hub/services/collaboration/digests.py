"""Digests: what each person missed, daily or weekly, as e-mail-ready HTML and Markdown.

A digest holds their notifications, their open tasks and each readable project's changes since
the last digest, with times in their own time zone. With ``SALON_SMTP_URL`` set it is mailed
(HTML with a Markdown plain-text part); otherwise it is written to ``SALON_DIGEST_FOLDER`` (or
``<data dir>/digests``) as ``<name>/<time>.html`` and ``.md``, for a mail relay or a person to
pick up. :class:`DigestSender` sends the due ones while the hub runs; ``salon digest send``
sends them now.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import smtplib
import ssl
from collections import defaultdict
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jinja2

from hub.clock import now
from hub.domain.collaboration import DigestSettings
from hub.domain.identity import UserRecord
from hub.errors import Forbidden, InvalidInput
from hub.services.collaboration import activity, targets, tasks
from hub.services.identity.tokens import principal_for_user
from hub.services.policy import audit, permissions
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store
from hub.store.activity import FeedQuery

log = logging.getLogger("salon.digests")
FREQUENCIES = {"off": None, "daily": timedelta(days=1), "weekly": timedelta(days=7)}
PER_PROJECT = 15
_TEMPLATES = Path(__file__).parent / "templates"
_html = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True)
_text = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=False)
REASONS = {
    "mention": "mentioned you",
    "reply": "in your thread",
    "watch": "you follow it",
    "assign": "assigned to you",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Digest:
    subject: str
    markdown: str
    html: str
    items: int  # notifications, tasks and changes it mentions


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def settings_of(store: Store, principal: Principal) -> DigestSettings:
    return await store.digests.of(principal.user_id) or DigestSettings(
        principal.user_id, "off", "UTC"
    )


async def choose(
    store: Store, principal: Principal, frequency: str, time_zone: str
) -> DigestSettings:
    """How often the principal wants a digest, and the time zone it speaks."""
    if frequency not in FREQUENCIES:
        raise InvalidInput(f"Digests come {', '.join(FREQUENCIES)}.", field="frequency")
    if time_zone not in available_timezones() and time_zone != "UTC":
        raise InvalidInput(
            f"{time_zone!r} is not a time zone name like Europe/Berlin.", field="timeZone"
        )
    current = await settings_of(store, principal)
    chosen = DigestSettings(principal.user_id, frequency, time_zone, current.last_sent_at)
    event = audit.event(principal, "digest.settings", "user", principal.user_id)
    await store.digests.save(chosen, audit=[event])
    return chosen


async def compose(
    store: Store,
    settings: Settings,
    principal: Principal,
    since: datetime,
    period: str,
    zone_name: str,
    display_name: str,
) -> Digest:
    """The digest of what happened since ``since`` that the principal may see."""
    zone = _zone(zone_name)

    def when(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%a %d %b %H:%M")

    names: dict[str, str] = {}

    async def actor(user_id: str) -> str:
        if user_id not in names:
            found = await store.users.by_ids([user_id])
            names[user_id] = found[user_id].display_name if user_id in found else "Salon"
        return names[user_id]

    held = await activity.readable(store, principal)
    projects = await store.projects.by_ids(sorted(held))
    notices = [
        n
        for n in await activity.inbox(store, principal, unread=True, limit=100)
        if n.activity.at > since
    ]
    hidden = await targets.hidden(store, principal, held)
    changes = await store.activity.feed(FeedQuery(sorted(held), hidden, since=since, limit=500))
    by_project: dict[str, list[Any]] = defaultdict(list)
    for entry in changes:
        if entry.actor_id != principal.user_id and entry.project_id:
            by_project[entry.project_id].append(entry)
    today = now().astimezone(zone).date()
    open_tasks = await tasks.my_work(store, principal)
    context = {
        "name": display_name,
        "period": period,
        "zone": zone.key,
        "dashboard": settings.dashboard_url,
        "notices": [
            {
                "actor": await actor(n.activity.actor_id),
                "summary": n.activity.summary,
                "project": projects[n.activity.project_id].name
                if n.activity.project_id in projects
                else "",
                "when": when(n.activity.at),
                "reason": REASONS.get(n.reason, n.reason),
            }
            for n in notices
        ],
        "tasks": [
            {
                "project": projects[t.project_id].name if t.project_id in projects else "",
                "number": t.number,
                "title": t.title,
                "due": t.due_date.strftime("%d %b") if t.due_date else None,
                "late": bool(t.due_date and t.due_date < today),
            }
            for t in open_tasks
        ],
        "projects": [
            {
                "name": projects[pid].name,
                "count": len(items),
                "more": max(0, len(items) - PER_PROJECT),
                "entries": [
                    {"actor": await actor(e.actor_id), "summary": e.summary, "when": when(e.at)}
                    for e in items[:PER_PROJECT]
                ],
            }
            for pid, items in sorted(by_project.items(), key=lambda kv: projects[kv[0]].name)
        ],
    }
    count = len(notices) + len(open_tasks) + len(changes)
    subject = f"Salon {period}: {len(notices)} for you, {len(changes)} changes"
    context["subject"] = subject
    return Digest(
        subject,
        _text.get_template("digest.md").render(context),
        _html.get_template("digest.html").render(context),
        count,
    )


async def preview(store: Store, settings: Settings, principal: Principal) -> Digest:
    """The principal's next digest as it stands now."""
    chosen = await settings_of(store, principal)
    span = FREQUENCIES[chosen.frequency] or timedelta(days=1)
    since = chosen.last_sent_at or now() - span
    user = await store.users.by_id(principal.user_id)
    name = user.display_name if user else principal.user_name
    digest = await compose(
        store, settings, principal, since, _period(chosen.frequency), chosen.time_zone, name
    )
    await audit.read(
        store, principal, "digest.preview", "user", principal.user_id, None, digest.items
    )
    return digest


def _period(frequency: str) -> str:
    return "this week" if frequency == "weekly" else "today"


# Sending -------------------------------------------------------------------------------------


def _mail(settings: Settings, user: UserRecord, digest: Digest) -> None:
    """Send one digest through the SMTP server in SALON_SMTP_URL (smtp:// with STARTTLS when
    the server offers it, smtps:// for TLS from the start)."""
    parts = urlsplit(settings.smtp_url.get_secret_value())
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = settings.smtp_from
    message["To"] = formataddr((user.display_name, user.email or ""))
    message.set_content(digest.markdown)
    message.add_alternative(digest.html, subtype="html")
    context = ssl.create_default_context()
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    server_type = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": context} if parts.scheme == "smtps" else {}
    with server_type(parts.hostname or "localhost", port, timeout=30, **kwargs) as server:
        if parts.scheme == "smtp":
            server.ehlo()
            if server.has_extn("starttls"):
                server.starttls(context=context)
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))
        server.send_message(message)


def _write(folder: Path, user: UserRecord, digest: Digest, at: datetime) -> Path:
    target = folder / user.name
    target.mkdir(parents=True, exist_ok=True)
    stem = at.strftime("%Y%m%dT%H%M%SZ")
    (target / f"{stem}.md").write_text(digest.markdown)
    (target / f"{stem}.html").write_text(digest.html)
    return target / f"{stem}.html"


async def due_count(store: Store) -> int:
    """How many wanted digests are due now (the queue the sender works through)."""
    at = now()
    due = 0
    for chosen in await store.digests.wanted():
        span = FREQUENCIES[chosen.frequency]
        if span is not None and (chosen.last_sent_at is None or at - chosen.last_sent_at >= span):
            due += 1
    return due


async def send_due(
    store: Store, settings: Settings, *, force: bool = False, only: str | None = None
) -> list[str]:
    """Send every digest that is due (all that are wanted, with ``force``); the names of the
    people served. A person with nothing new gets nothing."""
    served = []
    folder = (
        Path(settings.digest_folder) if settings.digest_folder else settings.data_dir / "digests"
    )
    for chosen in await store.digests.wanted():
        span = FREQUENCIES[chosen.frequency]
        assert span is not None
        at = now()
        if not force and chosen.last_sent_at and at - chosen.last_sent_at < span:
            continue
        user = await store.users.by_id(chosen.user_id)
        if user is None or user.disabled_at is not None or (only and user.name != only):
            continue
        principal = await principal_for_user(store, user, auth_method="system", auth_id=None)
        since = chosen.last_sent_at or at - span
        digest = await compose(
            store,
            settings,
            principal,
            since,
            _period(chosen.frequency),
            chosen.time_zone,
            user.display_name,
        )
        if digest.items == 0:
            await store.digests.sent(user.id, at)
            continue
        try:
            if settings.smtp_url and user.email:
                await asyncio.to_thread(_mail, settings, user, digest)
            else:
                await asyncio.to_thread(_write, folder, user, digest, at)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("Could not send %s's digest (%s); trying again later", user.name, exc)
            continue
        await store.digests.sent(user.id, at)
        served.append(user.name)
    return served


async def send_now(
    store: Store, settings: Settings, principal: Principal, force: bool, only: str | None
) -> list[str]:
    """Send due digests at once (site admins): the command line's ``salon digest send``."""
    if not permissions.can_manage_people(principal):
        await audit.deny(store, principal, "digest.send", "user")
        raise Forbidden("Only site admins may send digests.")
    served = await send_due(store, settings, force=force, only=only)
    await store.audit.record([audit.event(principal, "digest.send", "user", rows=len(served))])
    return served
