"""Comments, the activity feed and the inbox in GraphQL."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.api.runs import PageInfoType
from hub.domain.collaboration import ActivityRecord, CommentRecord, Mention, NotificationRecord
from hub.services.collaboration import activity, comments, digests
from hub.services.collaboration.comments import EMOJI, Anchor
from hub.services.collaboration.markdown import render
from hub.services.policy.names import people_and_groups
from hub.services.policy.names import projects as project_records

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.enum(name="TargetKind", description="Kinds of objects people discuss and watch.")
class TargetKind(Enum):
    PROJECT = "project"
    EXPERIMENT = "experiment"
    RUN = "run"
    DATASET = "dataset"
    DATASET_VERSION = "dataset_version"
    TASK = "task"
    PAGE = "page"
    MODEL = "model"
    MODEL_VERSION = "model_version"


@strawberry.input(description="What a comment is anchored to: give one kind of part.")
class CommentAnchorInput:
    metric: str | None = strawberry.field(default=None, description="A run's metric (chart).")
    steps: list[int] | None = strawberry.field(
        default=None, description="The step range [from, to] on that metric's chart."
    )
    filter: str | None = strawberry.field(
        default=None, description="Rows of a dataset version matching this filter."
    )
    row: int | None = strawberry.field(default=None, description="A row of a dataset version.")
    column: str | None = strawberry.field(default=None, description="A column (with row: a cell).")
    cell: int | None = strawberry.field(default=None, description="A notebook's cell (from 0).")

    def to_anchor(self) -> Anchor:
        steps = tuple(self.steps) if self.steps is not None else None
        return Anchor(self.metric, steps, self.filter, self.row, self.column, self.cell)


@strawberry.type(name="CommentAnchor", description="The part of the object a thread is about.")
class CommentAnchorType:
    metric: str | None
    steps: list[int] | None
    filter: str | None
    row: int | None
    column: str | None
    cell: int | None


@strawberry.type(name="Reaction", description="One kind of reaction to a comment.")
class ReactionType:
    emoji: str = strawberry.field(description="Its name: +1, -1, tada, heart, eyes, rocket, …")
    symbol: str
    count: int
    people: list[str] = strawberry.field(description="Names of those who reacted.")
    mine: bool = strawberry.field(description="Whether the caller is among them.")


@strawberry.type(name="Comment", description="A comment, in Markdown and as safe HTML.")
class CommentType:
    id: strawberry.ID
    thread_id: strawberry.ID
    reply_to: strawberry.ID | None
    author: str = strawberry.field(description="The author's sign-in name.")
    author_display_name: str
    body: str = strawberry.field(description="Markdown as written (empty once deleted).")
    html: str = strawberry.field(description="The body rendered and sanitized.")
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    mentions: list[str] = strawberry.field(description="Names of people and groups mentioned.")
    reactions: list[ReactionType]


@strawberry.type(name="Thread", description="A first comment and its replies.")
class ThreadType:
    id: strawberry.ID
    anchor: CommentAnchorType | None
    resolved_at: datetime | None
    resolved_by: str | None
    comments: list[CommentType]


@strawberry.type(name="Discussion", description="The threads on one object.")
class DiscussionType:
    kind: TargetKind
    id: strawberry.ID
    threads: list[ThreadType]
    open_threads: int = strawberry.field(description="Threads not resolved, over all pages.")
    watching: bool = strawberry.field(description="Whether the caller follows this object.")
    page_info: PageInfoType = strawberry.field(
        description="Pass endCursor as `after` for the threads that follow."
    )


@strawberry.type(name="ActivityEntry", description="A change, as the feed shows it.")
class ActivityEntryType:
    id: strawberry.ID
    at: datetime
    actor: str
    actor_display_name: str
    project: str | None
    verb: str = strawberry.field(description="run.finish, dataset.upload, comment.create, …")
    summary: str = strawberry.field(description="In words: “commented on run lr-3e-4: …”.")
    object_kind: str
    object_id: strawberry.ID | None
    target_kind: str | None = strawberry.field(description="What the object is about.")
    target_id: strawberry.ID | None
    detail: JSON


@strawberry.type(name="ActivityPage", description="Feed entries, newest first.")
class ActivityPageType:
    entries: list[ActivityEntryType]
    next_before: str | None = strawberry.field(
        description="Pass as `before` for the next page (null: no more)."
    )
    last_looked: datetime | None = strawberry.field(
        description="With sinceLastLook: when you last marked the project seen."
    )


@strawberry.type(name="Notification", description="An entry in your inbox.")
class NotificationType:
    entry: ActivityEntryType
    reason: str = strawberry.field(description="mention, reply, watch or assign.")
    created_at: datetime
    read_at: datetime | None


@strawberry.type(name="MentionCandidate", description="Someone who can be @mentioned here.")
class MentionCandidateType:
    kind: str = strawberry.field(description="user or group.")
    name: str
    display_name: str


@strawberry.type(name="CommentVersion", description="An earlier text of a comment.")
class CommentVersionType:
    body: str
    edited_by: str
    edited_at: datetime


@strawberry.type(name="Count", description="How many objects changed.")
class CountType:
    count: int


CommentResult = Annotated[CommentType | Errors, strawberry.union("CommentResult")]
DiscussionResult = Annotated[DiscussionType | Errors, strawberry.union("DiscussionResult")]
ActivityResult = Annotated[ActivityPageType | Errors, strawberry.union("ActivityResult")]
CountResult = Annotated[CountType | Errors, strawberry.union("CountResult")]
HistoryResult = Annotated[CommentVersionType | Errors, strawberry.union("CommentHistoryResult")]


async def comments_of(
    store: Store,
    found: list[CommentRecord],
    me: str,
    made: dict[str, list[Mention]] | None = None,
) -> list[CommentType]:
    """Comments as GraphQL objects: names, mentions and reactions looked up once for all.
    ``made``: comments just made, with whom they mention (they have no reactions yet)."""
    ids = [c.id for c in found]
    if made is None:
        reactions, mentions = await comments.reactions_and_mentions(store, ids)
    else:
        reactions, mentions = [], made
    people = {c.author_id for c in found} | {r.user_id for r in reactions}
    people |= {m.subject_id for ms in mentions.values() for m in ms}
    names = await people_and_groups(store, people)
    by_comment: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in reactions:
        by_comment[r.comment_id][r.emoji].append(r.user_id)
    result = []
    for c in found:
        named = [names[m.subject_id][0] for m in mentions.get(c.id, []) if m.subject_id in names]
        author = names.get(c.author_id, (c.author_id, c.author_id))
        result.append(
            CommentType(
                id=strawberry.ID(c.id),
                thread_id=strawberry.ID(c.thread_id),
                reply_to=strawberry.ID(c.parent_id) if c.parent_id else None,
                author=author[0],
                author_display_name=author[1],
                body=c.body,
                html=render(c.body, frozenset(named)),
                created_at=c.created_at,
                edited_at=c.edited_at,
                deleted_at=c.deleted_at,
                mentions=named,
                reactions=[
                    ReactionType(
                        emoji=e,
                        symbol=EMOJI[e],
                        count=len(who),
                        people=[names.get(u, (u,))[0] for u in who],
                        mine=me in who,
                    )
                    for e, who in by_comment[c.id].items()
                ],
            )
        )
    return result


def _anchor(text: str | None) -> CommentAnchorType | None:
    if not text:
        return None
    values = json.loads(text)
    steps = values.get("steps")
    return CommentAnchorType(
        metric=values.get("metric"),
        steps=list(steps) if steps else None,
        filter=values.get("filter"),
        row=values.get("row"),
        column=values.get("column"),
        cell=values.get("cell"),
    )


async def _discussion(
    info: Info, kind: TargetKind, object_id: str, first: int, after: str | None
) -> DiscussionType:
    ctx = info.context
    page = await comments.threads(ctx.store, ctx.principal, kind.value, object_id, first, after)
    found = page.comments
    shown = await comments_of(ctx.store, found, ctx.principal.user_id)
    names = await people_and_groups(ctx.store, {c.resolved_by for c in found if c.resolved_by})
    threads: dict[str, ThreadType] = {}
    for record, item in zip(found, shown, strict=True):
        if record.id == record.thread_id:
            threads[record.id] = ThreadType(
                id=item.id,
                anchor=_anchor(record.anchor),
                resolved_at=record.resolved_at,
                resolved_by=names[record.resolved_by][0] if record.resolved_by else None,
                comments=[item],
            )
        elif record.thread_id in threads:
            threads[record.thread_id].comments.append(item)
    return DiscussionType(
        kind=kind,
        id=strawberry.ID(object_id),
        threads=list(threads.values()),
        open_threads=page.open_threads,
        watching=page.watching,
        page_info=PageInfoType(
            has_next_page=page.has_more, end_cursor=next(reversed(threads), None)
        ),
    )


async def entries(store: Store, found: list[ActivityRecord]) -> list[ActivityEntryType]:
    names = await people_and_groups(store, {e.actor_id for e in found})
    projects = await project_records(store, {e.project_id for e in found if e.project_id})
    return [
        ActivityEntryType(
            id=strawberry.ID(e.id),
            at=e.at,
            actor=names.get(e.actor_id, (e.actor_id,))[0],
            actor_display_name=names.get(e.actor_id, (e.actor_id, e.actor_id))[1],
            project=projects[e.project_id].name if e.project_id in projects else None,
            verb=e.verb,
            summary=e.summary,
            object_kind=e.object_kind,
            object_id=strawberry.ID(e.object_id) if e.object_id else None,
            target_kind=e.target_kind,
            target_id=strawberry.ID(e.target_id) if e.target_id else None,
            detail=JSON(dict(e.detail)),
        )
        for e in found
    ]


async def _page(
    store: Store, found: list[ActivityRecord], limit: int, last_looked: datetime | None = None
) -> ActivityPageType:
    return ActivityPageType(
        entries=await entries(store, found),
        next_before=found[-1].id if len(found) == limit else None,
        last_looked=last_looked,
    )


async def _notifications(store: Store, found: list[NotificationRecord]) -> list[NotificationType]:
    shown = await entries(store, [n.activity for n in found])
    return [
        NotificationType(entry=e, reason=n.reason, created_at=n.created_at, read_at=n.read_at)
        for e, n in zip(shown, found, strict=True)
    ]


async def _one(info: Info, work: Awaitable[CommentRecord]) -> CommentResult:
    """The comment a mutation changed, as the caller now sees it (read again)."""
    ctx = info.context

    async def shown() -> CommentType:
        fresh = await comments.current(ctx.store, await work)
        return (await comments_of(ctx.store, [fresh], ctx.principal.user_id))[0]

    return await result_of(shown(), lambda c: c)


async def _new(info: Info, work: Awaitable[tuple[CommentRecord, list[Mention]]]) -> CommentResult:
    """A comment just made, shown as it was made: nothing to read back."""
    ctx = info.context

    async def shown() -> CommentType:
        record, mentions = await work
        made = {record.id: mentions}
        return (await comments_of(ctx.store, [record], ctx.principal.user_id, made))[0]

    return await result_of(shown(), lambda c: c)


@strawberry.type
class DiscussionQueries:
    @strawberry.field(
        description="The threads on an object, oldest first, `first` at a time (at most 500), "
        "after the thread `after`."
    )
    async def discussion(
        self,
        info: Info,
        kind: TargetKind,
        id: strawberry.ID,
        first: int = 100,
        after: str | None = None,
    ) -> DiscussionResult:
        found = _discussion(info, kind, id, first, after)
        return await result_of(found, lambda d: d)

    @strawberry.field(
        description="The activity feed, newest first: one project's, one object's (its changes "
        "and comments), or of every project you can read; by one person, of some kinds (verb "
        "prefixes such as 'run.' or 'comment.'), after a time. sinceLastLook: what changed in "
        "the project since you last marked it seen."
    )
    async def activity(
        self,
        info: Info,
        project: str | None = None,
        about_kind: TargetKind | None = None,
        about_id: strawberry.ID | None = None,
        actor: str | None = None,
        verbs: list[str] | None = None,
        since: datetime | None = None,
        before: str | None = None,
        limit: int = 50,
        since_last_look: bool = False,
    ) -> ActivityResult:
        ctx = info.context
        if since_last_look and project is not None:

            async def last_look() -> ActivityPageType:
                seen, found = await activity.since_last_look(
                    ctx.store, ctx.principal, project, limit
                )
                return await _page(ctx.store, found, limit, seen)

            return await result_of(last_look(), lambda p: p)
        about = (about_kind.value, str(about_id)) if about_kind and about_id else None

        async def read() -> ActivityPageType:
            found = await activity.feed(
                ctx.store,
                ctx.principal,
                project=project,
                about=about,
                actor=actor,
                verbs=verbs,
                since=since,
                before=before,
                limit=limit,
            )
            return await _page(ctx.store, found, limit)

        return await result_of(read(), lambda p: p)

    @strawberry.field(description="Your notifications, newest first.")
    async def inbox(
        self, info: Info, unread: bool = False, limit: int = 50
    ) -> list[NotificationType]:
        ctx = info.context
        found = await activity.inbox(ctx.store, ctx.principal, unread, limit)
        return await _notifications(ctx.store, found)

    @strawberry.field(description="How many of your notifications are unread.")
    async def unread_notifications(self, info: Info) -> int:
        return await activity.unread_count(info.context.store, info.context.principal)

    @strawberry.field(description="People and groups who can be @mentioned on an object.")
    async def mention_candidates(
        self, info: Info, kind: TargetKind, id: strawberry.ID, prefix: str = ""
    ) -> list[MentionCandidateType]:
        ctx = info.context
        found = await comments.mention_candidates(ctx.store, ctx.principal, kind.value, id, prefix)
        return [MentionCandidateType(kind=k, name=n, display_name=d) for k, n, d in found]

    @strawberry.field(description="Earlier texts of a comment (its author and maintainers).")
    async def comment_history(self, info: Info, id: strawberry.ID) -> list[CommentVersionType]:
        ctx = info.context
        edits = await comments.history(ctx.store, ctx.principal, id)
        names = await people_and_groups(ctx.store, {e.edited_by for e in edits})
        return [
            CommentVersionType(
                body=e.body,
                edited_by=names.get(e.edited_by, (e.edited_by,))[0],
                edited_at=e.edited_at,
            )
            for e in edits
        ]


@strawberry.type
class DiscussionMutations:
    @strawberry.mutation(
        description="Comment on an object (commenters and up), starting a thread (optionally "
        "anchored to a part of it) or replying to a comment. Markdown; @name mentions people "
        "and groups who can see the object."
    )
    async def add_comment(
        self,
        info: Info,
        kind: TargetKind,
        id: strawberry.ID,
        body: str,
        anchor: CommentAnchorInput | None = None,
        reply_to: strawberry.ID | None = None,
    ) -> CommentResult:
        ctx = info.context
        work = comments.add_with_mentions(
            ctx.store,
            ctx.principal,
            kind.value,
            id,
            body,
            anchor.to_anchor() if anchor else None,
            reply_to,
        )
        return await _new(info, work)

    @strawberry.mutation(description="Change your comment; the earlier text is kept.")
    async def edit_comment(self, info: Info, id: strawberry.ID, body: str) -> CommentResult:
        ctx = info.context
        return await _one(info, comments.edit(ctx.store, ctx.principal, id, body))

    @strawberry.mutation(description="Delete your comment (maintainers: any comment).")
    async def delete_comment(self, info: Info, id: strawberry.ID) -> CommentResult:
        ctx = info.context
        return await _one(info, comments.delete(ctx.store, ctx.principal, id))

    @strawberry.mutation(
        description="Resolve (or with resolved: false reopen) the thread a comment is in: "
        "whoever started it, or an editor."
    )
    async def resolve_thread(
        self, info: Info, id: strawberry.ID, resolved: bool = True
    ) -> CommentResult:
        ctx = info.context
        return await _one(info, comments.resolve(ctx.store, ctx.principal, id, resolved))

    @strawberry.mutation(description="React to a comment (on: false takes it back).")
    async def react(
        self, info: Info, id: strawberry.ID, emoji: str, on: bool = True
    ) -> CommentResult:
        ctx = info.context
        return await _one(info, comments.react(ctx.store, ctx.principal, id, emoji, on))

    @strawberry.mutation(
        description="Follow an object (on: false stops): its comments and changes reach your inbox."
    )
    async def watch(
        self, info: Info, kind: TargetKind, id: strawberry.ID, on: bool = True
    ) -> CountResult:
        ctx = info.context
        work = activity.watch(ctx.store, ctx.principal, kind.value, id, on)
        return await result_of(work, lambda _: CountType(count=1))

    @strawberry.mutation(description="Mark notifications read: these entries, or all.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None
    ) -> CountResult:
        ctx = info.context
        work = activity.mark_read(ctx.store, ctx.principal, None if ids is None else list(ids))
        return await result_of(work, lambda n: CountType(count=n))

    @strawberry.mutation(description="Mark a project's feed seen now (for sinceLastLook).")
    async def mark_feed_seen(self, info: Info, project: str) -> CountResult:
        ctx = info.context
        work = activity.mark_seen(ctx.store, ctx.principal, project)
        return await result_of(work, lambda _: CountType(count=1))


@strawberry.type(name="DigestSettings", description="How often you get a digest.")
class DigestSettingsType:
    frequency: str = strawberry.field(description="off, daily or weekly.")
    time_zone: str
    last_sent_at: datetime | None


@strawberry.type(name="Digest", description="A digest of what you missed, ready to e-mail.")
class DigestType:
    subject: str
    markdown: str
    html: str


@strawberry.type(name="DigestsSent", description="Who got a digest.")
class DigestsSentType:
    people: list[str]


DigestSettingsResult = Annotated[
    DigestSettingsType | Errors, strawberry.union("DigestSettingsResult")
]
SentResult = Annotated[DigestsSentType | Errors, strawberry.union("SendDigestsResult")]


@strawberry.type
class DigestQueries:
    @strawberry.field(description="How often you get a digest, and in which time zone.")
    async def digest_settings(self, info: Info) -> DigestSettingsType:
        ctx = info.context
        chosen = await digests.settings_of(ctx.store, ctx.principal)
        return DigestSettingsType(
            frequency=chosen.frequency, time_zone=chosen.time_zone, last_sent_at=chosen.last_sent_at
        )

    @strawberry.field(description="Your next digest as it stands now.")
    async def digest_preview(self, info: Info) -> DigestType:
        ctx = info.context
        made = await digests.preview(ctx.store, ctx.settings, ctx.principal)
        return DigestType(subject=made.subject, markdown=made.markdown, html=made.html)


@strawberry.type
class DigestMutations:
    @strawberry.mutation(
        description="Get a digest daily, weekly or not at (off), with times in "
        "this time zone (an IANA name such as Europe/Berlin)."
    )
    async def set_digest_settings(
        self, info: Info, frequency: str, time_zone: str = "UTC"
    ) -> DigestSettingsResult:
        ctx = info.context
        work = digests.choose(ctx.store, ctx.principal, frequency, time_zone)
        return await result_of(
            work,
            lambda c: DigestSettingsType(
                frequency=c.frequency, time_zone=c.time_zone, last_sent_at=c.last_sent_at
            ),
        )

    @strawberry.mutation(
        description="Send the digests that are due now (site admins); force: "
        "everyone's, due or not. only: one person's."
    )
    async def send_digests(
        self, info: Info, force: bool = False, only: str | None = None
    ) -> SentResult:
        ctx = info.context
        work = digests.send_now(ctx.store, ctx.settings, ctx.principal, force, only)
        return await result_of(work, lambda p: DigestsSentType(people=p))
