"""Wiki pages and shared notebooks, per project and versioned.

Pages are Markdown (experiment logs, decisions, onboarding). A reference written as
``[[run:NAME]]``, ``[[dataset:NAME]]`` (or ``NAME@VERSION``), ``[[task:NUMBER]]`` or
``[[page:SLUG]]`` becomes a live card: the object's current state, resolved for each reader,
so nobody learns of an object they may not see. Notebooks (.ipynb, attached to a project or a
run) are shown read-only, cell by cell (see ``notebooks``). Every save is a new version;
commenters and up write, readers of the project read.
"""

from __future__ import annotations

import dataclasses
import re

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.collaboration import PageRecord
from hub.errors import InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.collaboration import notebooks
from hub.services.collaboration.markdown import plain, render
from hub.services.data import datasets
from hub.services.data.datasets import FoundProject
from hub.services.policy import audit, feed, permissions
from hub.services.policy.permissions import COMMENT
from hub.services.policy.principal import Principal
from hub.services.tracking import runs
from hub.store import Store

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
REFERENCE = re.compile(r"\[\[(run|dataset|task|page):([^\]\n]{1,200})\]\]")
MAX_BODY = 200_000
MAX_CARDS = 50


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """A referenced object as a reader may see it now."""

    reference: str
    kind: str
    title: str
    state: str  # a line about its current state
    object_id: str | None = None  # None: not found, or not theirs to see
    written: str = ""  # the reference as the page has it, brackets included

    @property
    def words(self) -> str:
        """The card in a few words, for the page's text where it was referred to."""
        return f"{self.title} ({self.state})"


def _slug(text: str) -> str:
    slug = text.strip().lower()
    if not SLUG.match(slug):
        raise InvalidInput(
            "A page's address is 1 to 80 lowercase letters, digits and dashes, "
            "like 'onboarding' or 'decisions-2026'.",
            field="slug",
        )
    return slug


async def save(
    store: Store,
    principal: Principal,
    project: str,
    slug: str,
    title: str,
    body: str,
    message: str = "",
    kind: str = "page",
    run_id: str | None = None,
) -> PageRecord:
    """A new version of a page or notebook (creating it when new)."""
    found = await datasets.find_project(store, principal, project, "page.save")
    await permissions.demand(
        store,
        principal,
        found.project.id,
        found.access,
        COMMENT,
        action="page.save",
        object_kind="page",
    )
    slug = _slug(slug)
    if kind not in ("page", "notebook"):
        raise InvalidInput("A page is a page or a notebook.", field="kind")
    if kind == "notebook":
        book = notebooks.read(body)  # refuses what is not a notebook
        title = title.strip() or notebooks.title_of(book, slug)
    elif len(body) > MAX_BODY:
        raise LimitExceeded(f"A page is at most {MAX_BODY:,} characters.", field="body")
    if not title.strip() or len(title) > 200:
        raise InvalidInput("Give the page a title of up to 200 characters.", field="title")
    if len(message) > 2000:
        raise LimitExceeded("The message is longer than 2,000 characters.", field="message")
    if run_id is not None:
        (run,) = await runs.visible_runs(store, principal, [run_id], "page.save")
        if run.project_id != found.project.id:
            raise InvalidInput("That run is in another project.", field="runId")
    existing = await store.pages.by_slug(found.project.id, slug)
    if existing is not None and existing.kind != kind:
        raise InvalidInput(f"{slug!r} is already a {existing.kind}.", field="slug")
    at = now()
    draft = PageRecord(
        new_id(),
        found.project.id,
        slug,
        kind,
        run_id,
        principal.user_id,
        at,
        0,
        title.strip(),
        body,
        message.strip(),
        principal.user_id,
        at,
    )

    watching = await store.activity.watchers([("page", existing.id)]) if existing else set()

    def events(page: PageRecord) -> list[EventDraft]:
        verb = "page.create" if page.number == 1 else "page.edit"
        what = "notebook" if kind == "notebook" else "page"
        said = f"{'added' if page.number == 1 else 'edited'} the {what} {page.title}" + (
            f": {plain(message, 80)}" if message.strip() else ""
        )
        watchers = [] if page.number == 1 else sorted(watching)
        return [
            audit.event(principal, verb, "page", page.id, page.project_id),
            feed.entry(
                principal,
                verb,
                "page",
                page.id,
                page.project_id,
                said,
                detail={"slug": page.slug, "version": page.number, "kind": kind},
                recipients=[(w, "watch") for w in watchers],
            ),
        ]

    return await store.pages.save(draft, audit=events)


async def _readable(store: Store, principal: Principal, project: str, action: str) -> FoundProject:
    return await datasets.find_project(store, principal, project, action)


async def get(
    store: Store, principal: Principal, project: str, slug: str, version: int | None = None
) -> PageRecord:
    found = await _readable(store, principal, project, "page.read")
    page = await store.pages.by_slug(found.project.id, slug.strip().lower(), version)
    if page is None:
        raise permissions.not_found(f"page {slug!r}" + (f" version {version}" if version else ""))
    await audit.read(store, principal, "page.read", "page", page.id, page.project_id, 1)
    return page


async def of_project(store: Store, principal: Principal, project: str) -> list[PageRecord]:
    found = await _readable(store, principal, project, "pages.list")
    pages = await store.pages.of_project(found.project.id)
    await audit.read(
        store, principal, "pages.list", "project", found.project.id, found.project.id, len(pages)
    )
    return pages


async def of_run(store: Store, principal: Principal, run_id: str) -> list[PageRecord]:
    (run,) = await runs.visible_runs(store, principal, [run_id], "pages.list")
    pages = await store.pages.of_run(run.id)
    await audit.read(store, principal, "pages.list", "run", run.id, run.project_id, len(pages))
    return pages


async def history(store: Store, principal: Principal, page: PageRecord) -> list[PageRecord]:
    return await store.pages.history(page.id)


async def cards(store: Store, principal: Principal, page: PageRecord) -> list[Card]:
    """The objects a page refers to, each as the principal may see it now."""
    if page.kind != "page":
        return []
    found: list[Card] = []
    project = (await store.projects.by_ids([page.project_id]))[page.project_id]
    for kind, ref in list(dict.fromkeys(REFERENCE.findall(page.body)))[:MAX_CARDS]:
        card = await _card(store, principal, project.name, page.project_id, kind, ref.strip())
        found.append(dataclasses.replace(card, written=f"[[{kind}:{ref}]]"))
    return found


def html(page: PageRecord, cards: list[Card]) -> str:
    """A page rendered and sanitized, each reference in its text replaced by its card's words
    (as the reader of ``cards`` may see it); empty for notebooks."""
    if page.kind != "page":
        return ""
    return render(page.body, references=tuple((c.written, c.words) for c in cards))


async def _card(
    store: Store, principal: Principal, project: str, project_id: str, kind: str, ref: str
) -> Card:
    hidden = Card(f"{kind}:{ref}", kind, f"{kind} {ref}", "not found, or not yours to see")
    try:
        if kind == "run":
            page = await runs.search_runs(
                store, principal, project, f"name = '{ref.replace(chr(39), '')}'", None, 1, None, 1
            )
            if not page.runs:
                return hidden
            run = page.runs[0]
            return Card(f"{kind}:{ref}", kind, f"run {run.name}", run.status, run.id)
        if kind == "dataset":
            name, _, number = ref.partition("@")
            found = await datasets.find(store, principal, project, name.strip())
            version = await datasets.version(
                store, found, int(number) if number.isdigit() else None
            )
            state = f"version {version.number}: {version.row_count:,} rows, by {version.author}"
            return Card(f"{kind}:{ref}", kind, f"dataset {found.dataset.name}", state, version.id)
        if kind == "task":
            tasks = await store.tasks.of_project(project_id)
            task = next((t for t in tasks if str(t.number) == ref.lstrip("#")), None)
            if task is None:
                return hidden
            return Card(f"{kind}:{ref}", kind, f"#{task.number} {task.title}", task.status, task.id)
        other = await store.pages.by_slug(project_id, ref.lower())
        if other is None:
            return hidden
        return Card(f"{kind}:{ref}", kind, other.title, f"version {other.number}", other.id)
    except (InvalidInput, NotFound):
        return hidden
