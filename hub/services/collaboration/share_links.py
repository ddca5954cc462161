"""Share links: read-only, expiring, revocable links to one view of one object.

A link is how a chart or a card reaches a wiki page, whose readers have no account in Salon
and whose iframes get no cookies. Its secret (shown once, kept as a SHA-256) is checked on
every request for its data. The link acts as the person who made it, narrowed to reading its
one project, and only ever renders its one view with the arguments fixed when it was made:
nothing in the request chooses what is read. It never grants more than its maker has now: when
they lose access, or their account is disabled, it stops working. Every view through a link
is audited with the link's id.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.clock import now
from hub.domain.collaboration import ShareLinkRecord
from hub.errors import InvalidInput, LimitExceeded, NotFound, SalonError
from hub.ids import new_id
from hub.services.data import datasets
from hub.services.identity.tokens import hash_token, principal_for_user
from hub.services.policy import audit, permissions
from hub.services.policy.limits import MAX_NAME
from hub.services.policy.principal import Principal
from hub.settings import Settings
from hub.store import Store

PREFIX = "salon_link_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_RUNS = 12
MAX_METRICS = 8
MAX_USAGE_DAYS = 90
MAX_ACTIVE_PER_PERSON = 500
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")

VIEWS: dict[str, str] = {
    "run_comparison": "a comparison of runs",
    "metric_chart": "a run's metric chart",
    "dataset_profile": "a dataset version's profile",
    "model_card": "a model card",
    "review_summary": "a model version's review summary",
    "resource_usage": "the GPU cluster's usage",
    "wiki_page": "a wiki page",
}
"""Every view a link can show, with how it is described."""
CHART_VIEWS = ("run_comparison", "metric_chart", "resource_usage")
"""The views that are charts (the others are cards): only these have a PNG snapshot."""


class LinkRefused(SalonError):
    """A link that cannot be followed; ``code`` says why (the page shows a message for each)."""

    status = 404
    code = "link_invalid"


class LinkExpired(LinkRefused):
    status = 410
    code = "link_expired"


class LinkRevoked(LinkRefused):
    status = 410
    code = "link_revoked"


class LinkOrphaned(LinkRefused):
    status = 410
    code = "link_orphaned"


class SignInNeeded(LinkRefused):
    status = 401
    code = "link_sign_in"


@dataclasses.dataclass(frozen=True)
class ShareRequest:
    """What to share. Which of the optional fields a view needs is checked by :func:`create`."""

    view: str
    project: str
    title: str
    run_ids: Sequence[str] = ()
    metrics: Sequence[str] = ()
    dataset: str | None = None
    dataset_version: int | None = None
    model_version_id: str | None = None
    review_id: str | None = None
    slug: str | None = None
    days: int | None = None
    expires_in_days: int = DEFAULT_DAYS
    signed_in_only: bool = False


Render = Callable[[Principal, str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Reads a view's data as the given principal (a link), raising NotFound when it shows nothing:
how a link is shown, and how it is checked before it is made (only for what its maker can see
now)."""


def arguments_of(link: ShareLinkRecord) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(link.arguments)
    return value


def state_of(link: ShareLinkRecord) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= now() else "active"


def _ids(values: Sequence[str], what: str, field: str, most: int) -> list[str]:
    ids = list(dict.fromkeys(v.strip() for v in values))
    if not ids:
        raise InvalidInput(f"Name at least one {what}.", field=field)
    if len(ids) > most:
        raise LimitExceeded(f"A link shows at most {most} {what}s ({len(ids)} given).", field=field)
    bad = [v for v in ids if not _ID.match(v)]
    if bad:
        raise InvalidInput(f"{bad[0][:80]!r} is not a {what} id.", field=field)
    return ids


def _metrics(values: Sequence[str]) -> list[str]:
    keys = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not keys:
        raise InvalidInput("Name at least one metric to chart.", field="metrics")
    if len(keys) > MAX_METRICS:
        raise LimitExceeded(f"A link charts at most {MAX_METRICS} metrics.", field="metrics")
    if any(len(k) > MAX_NAME or any(ord(c) < 32 for c in k) for k in keys):
        raise InvalidInput("A metric name is too long or has control characters.", field="metrics")
    return keys


def _view_arguments(request: ShareRequest) -> tuple[str, dict[str, Any]]:
    """The object a view shows and the arguments that fix exactly what it reads."""
    view, base = request.view, {"project": request.project}
    if view == "run_comparison":
        runs = _ids(request.run_ids, "run", "runIds", MAX_RUNS)
        return ",".join(runs), {**base, "runIds": runs, "metrics": _metrics(request.metrics)}
    if view == "metric_chart":
        runs = _ids(request.run_ids, "run", "runIds", 1)
        return runs[0], {**base, "runIds": runs, "metrics": _metrics(request.metrics)}
    if view == "dataset_profile":
        name = (request.dataset or "").strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput("Name the dataset to share.", field="dataset")
        number = request.dataset_version
        if number is not None and not 1 <= number <= 1_000_000:
            raise InvalidInput(f"There is no version {number}.", field="datasetVersion")
        object_id = name if number is None else f"{name}@{number}"
        return object_id, {**base, "dataset": name, "version": number}
    if view in ("model_card", "review_summary"):
        card = view == "model_card"
        given = request.model_version_id if card else request.review_id
        what, field = ("model version", "modelVersionId") if card else ("review", "reviewId")
        (object_id,) = _ids([given or ""], what, field, 1)
        return object_id, {**base, "id": object_id}
    if view == "resource_usage":
        days = 7 if request.days is None else request.days
        if not 1 <= days <= MAX_USAGE_DAYS:
            raise InvalidInput(f"Show 1 to {MAX_USAGE_DAYS} days of usage.", field="days")
        return "cluster", {**base, "days": days}
    if view == "wiki_page":
        slug = (request.slug or "").strip()
        if not _SLUG.match(slug):
            raise InvalidInput("Name the wiki page by its slug, e.g. onboarding.", field="slug")
        return slug, {**base, "slug": slug}
    raise InvalidInput(
        f"Nothing called {view!r} can be shared; choose one of {', '.join(VIEWS)}.", field="view"
    )


def _title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise InvalidInput("Give the link a title (wikis show it).", field="title")
    if len(title) > MAX_NAME:
        raise LimitExceeded(f"A title has at most {MAX_NAME} characters.", field="title")
    return title


def as_link(principal: Principal, link: ShareLinkRecord) -> Principal:
    """``principal`` acting through ``link``: reading its one project, audited as the link."""
    return dataclasses.replace(
        principal,
        auth_method="link",
        auth_id=link.id,
        scope_projects=frozenset({link.project_id}),
        scope_write=False,
    )


async def create(
    store: Store, principal: Principal, request: ShareRequest, render: Render
) -> tuple[ShareLinkRecord, str]:
    """A new link and its secret (shown once). Editors share what they can see."""
    object_id, arguments = _view_arguments(request)
    title = _title(request.title)
    if not 1 <= request.expires_in_days <= MAX_DAYS:
        raise InvalidInput(
            f"Links expire after 1 to {MAX_DAYS} days (asked for {request.expires_in_days}).",
            field="expiresInDays",
        )
    found = await datasets.find_project(store, principal, request.project, "share_link.create")
    project = found.project
    await permissions.demand(
        store,
        principal,
        project.id,
        found.access,
        permissions.WRITE,
        action="share_link.create",
        object_kind="share_link",
    )
    at = now()
    if await store.share_links.count_active_by(principal.user_id, at) >= MAX_ACTIVE_PER_PERSON:
        raise LimitExceeded(
            f"You have {MAX_ACTIVE_PER_PERSON} working links; revoke some before making more."
        )
    link = ShareLinkRecord(
        new_id(),
        project.id,
        request.view,
        object_id,
        json.dumps(arguments, sort_keys=True),
        title,
        principal.user_id,
        principal.user_name,
        at,
        at + timedelta(days=request.expires_in_days),
        request.signed_in_only,
    )
    await render(as_link(principal, link), link.view, arguments)
    secret = PREFIX + secrets.token_urlsafe(32)
    events = [
        audit.event(principal, "share_link.create", "share_link", link.id, project.id, rows=1)
    ]
    await store.share_links.create(link, hash_token(secret), audit=events)
    return link, secret


async def list_links(store: Store, principal: Principal, project: str) -> list[ShareLinkRecord]:
    """A project's links, newest first: everyone on the project sees what leaves it."""
    found = (await datasets.find_project(store, principal, project, "share_link.list")).project
    links = await store.share_links.of_project(found.id)
    await audit.read(store, principal, "share_link.list", "share_link", None, found.id, len(links))
    return links


async def revoke(store: Store, principal: Principal, link_id: str) -> ShareLinkRecord:
    """Revoke a link (its maker, or a maintainer of its project); it stops working at once."""
    link = await store.share_links.by_id(link_id)
    access = None
    if link is not None:
        access = await permissions.access_to(store, principal, link.project_id)
    if link is None or access is None:
        await audit.deny(store, principal, "share_link.revoke", "share_link", link_id)
        raise permissions.not_found("share link", field="id")
    own = link.created_by == principal.user_id and principal.scope_write
    if not own:
        await permissions.demand(
            store,
            principal,
            link.project_id,
            access,
            permissions.MANAGE,
            action="share_link.revoke",
            object_kind="share_link",
            object_id=link.id,
        )
    if link.revoked_at is not None:
        return link
    at = now()
    events = [
        audit.event(principal, "share_link.revoke", "share_link", link.id, link.project_id, rows=1)
    ]
    if not await store.share_links.revoke(link.id, at, principal.user_id, audit=events):
        return await revoke(store, principal, link_id)  # revoked meanwhile: answer with that
    return dataclasses.replace(link, revoked_at=at, revoked_by=principal.user_id)


async def open_link(
    store: Store, secret: str, viewer: Principal | None, address: str | None
) -> tuple[ShareLinkRecord, Principal]:
    """The link behind ``secret`` and the principal that reads through it, or the reason it
    cannot be followed (each refusal is audited)."""
    secret = secret.strip()
    link = None
    if secret.startswith(PREFIX) and len(secret) <= 200:
        link = await store.share_links.by_hash(hash_token(secret))
    if link is None:
        await audit.deny(store, None, "share_link.view", "share_link")
        raise LinkRefused("This link is not valid. Ask whoever shared it for a new one.")

    async def refuse(error: LinkRefused) -> LinkRefused:
        assert link is not None
        await audit.deny(store, viewer, "share_link.view", "share_link", link.id, link.project_id)
        return error

    if link.revoked_at is not None:
        raise await refuse(LinkRevoked("This link was revoked. Ask for a new one."))
    if link.expires_at <= now():
        when = link.expires_at.strftime("%d %b %Y")
        raise await refuse(LinkExpired(f"This link expired on {when}. Ask for a new one."))
    if link.signed_in_only and viewer is None:
        raise await refuse(SignInNeeded("This link is for people in the organisation: sign in."))
    creator = await store.users.by_id(link.created_by)
    principal = None
    if creator is not None and creator.disabled_at is None:
        principal = await principal_for_user(store, creator, auth_method="link", auth_id=link.id)
        principal = as_link(principal, link).at(address)
        if await permissions.access_to(store, principal, link.project_id) is None:
            principal = None
    if principal is None:
        raise await refuse(
            LinkOrphaned(
                "This link no longer works: whoever shared it can no longer see what it shows."
            )
        )
    return link, principal


async def show(
    store: Store, secret: str, viewer: Principal | None, address: str | None, render: Render
) -> tuple[ShareLinkRecord, dict[str, Any]]:
    """What the link behind ``secret`` shows now, read as the link and audited (by the signed-in
    viewer when there is one); or the reason it cannot be shown, audited as a denial."""
    link, principal = await open_link(store, secret, viewer, address)
    arguments = arguments_of(link)
    try:
        data = await render(principal, link.view, arguments)
    except NotFound:
        await audit.deny(store, viewer, "share_link.view", "share_link", link.id, link.project_id)
        raise LinkOrphaned(
            "This link no longer works: what it showed is gone, or its maker can no longer see it."
        ) from None
    event = audit.event(
        viewer or principal, "share_link.view", "share_link", link.id, link.project_id, rows=1
    )
    await store.share_links.viewed(link.id, now(), audit=[event])
    return link, _withheld(link.view, arguments, data)


def _withheld(view: str, arguments: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A view's data without what a wiki reader must not get: the profiles of PII columns (the
    maker may hold the PII grant; the reader does not) and other projects' GPU use."""
    if view == "dataset_profile":
        for column in data["dataset"]["version"]["columns"]:
            if column["pii"]:
                column["profile"] = None
    if view == "resource_usage":
        data["clusterUsage"] = [r for r in data["clusterUsage"] if r["who"] == arguments["project"]]
    return data


# Addresses ------------------------------------------------------------------------------------

HEIGHTS = {
    "dataset_profile": 640,
    "model_card": 640,
    "review_summary": 300,
    "resource_usage": 460,
    "wiki_page": 640,
}
CHART_HEIGHT, FRAME_HEIGHT = 320, 150  # a chart of the embed, and its title and footer


def height_of(link: ShareLinkRecord) -> int:
    """The height an embed asks for: its content's, for charts (one per metric); cards and
    pages scroll inside it. Every view reads well from 600 px wide."""
    if link.view in ("run_comparison", "metric_chart"):
        return FRAME_HEIGHT + CHART_HEIGHT * len(arguments_of(link)["metrics"])
    return HEIGHTS[link.view]


def share_url(settings: Settings, secret: str) -> str:
    """The page a link opens, in the dashboard."""
    return f"{settings.dashboard_url.rstrip('/')}/shared?{urlencode({'link': secret})}"


def embed_url(settings: Settings, secret: str) -> str:
    """The same page without the dashboard's chrome, for an iframe."""
    return share_url(settings, secret) + "&embed=true"


def embed_html(
    settings: Settings,
    secret: str,
    link: ShareLinkRecord,
    width: int = 600,
    height: int | None = None,
) -> str:
    """The iframe to paste into a wiki page."""
    height = height or height_of(link)
    return (
        f'<iframe src="{html.escape(embed_url(settings, secret))}" '
        f'title="{html.escape(link.title)}" width="{width}" height="{height}" '
        'style="border:1px solid #ddd;border-radius:6px;max-width:100%" loading="lazy" '
        'referrerpolicy="no-referrer"></iframe>'
    )


def snapshot_urls(settings: Settings, secret: str, link: ShareLinkRecord) -> dict[str, str | None]:
    """A static picture (``png``, of charts only) and page (``html``) of the view, each drawn
    afresh when fetched."""
    query = urlencode({"link": secret})
    return {
        kind: f"{settings.url.rstrip('/')}/api/share/snapshot.{kind}?{query}"
        if kind == "html" or link.view in CHART_VIEWS
        else None
        for kind in ("png", "html")
    }


def secret_in(url: str, settings: Settings) -> str | None:
    """The link secret in a share or embed address of this Salon (None for any other address)."""
    parsed, ours = urlsplit(url.strip()), urlsplit(settings.dashboard_url)
    if (parsed.scheme, parsed.netloc) != (ours.scheme, ours.netloc):
        return None
    if parsed.path.rstrip("/") != ours.path.rstrip("/") + "/shared":
        return None
    found = parse_qs(parsed.query).get("link")
    return found[0] if found else None
