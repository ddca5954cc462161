"""GPU bookings, quotas and the fair-share view in GraphQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.api.context import Info
from hub.api.errors import Errors, result_of
from hub.clock import now
from hub.domain.cluster import Booking
from hub.errors import InvalidInput
from hub.services.cluster import bookings
from hub.services.policy import names

if TYPE_CHECKING:
    from hub.store import Store


@strawberry.type(name="GpuBooking", description="GPUs booked for a time slot.")
class BookingType:
    id: strawberry.ID
    project: str
    user: str
    gpus: float
    starts_at: datetime
    ends_at: datetime
    time_zone: str = strawberry.field(description="The zone it was booked in.")
    note: str
    released_at: datetime | None
    release_reason: str | None = strawberry.field(description="released or idle.")
    idle: bool = strawberry.field(
        description="Going on now with nothing of its project running: released after the "
        "grace period unless a job starts."
    )


@strawberry.type(name="GpuQuota", description="At most this many GPUs booked at once.")
class QuotaType:
    scope: str = strawberry.field(description="project or team.")
    name: str
    gpus: float


@strawberry.type(name="FairShare", description="Use against quota over a period.")
class FairShareType:
    who: str
    gpu_hours: float
    share_of_use: float = strawberry.field(description="Of all GPU-hours used, 0 to 1.")
    quota_gpus: float | None
    share_of_quota: float | None = strawberry.field(
        description="Of the cluster, what the quota promises, 0 to 1."
    )


BookingResult = Annotated[BookingType | Errors, strawberry.union("BookingResult")]
QuotaResult = Annotated[QuotaType | Errors, strawberry.union("QuotaResult")]


async def shown(store: Store, found: list[Booking]) -> list[BookingType]:
    idle = await bookings.idle_now(store, found)
    people, projects = await names.people_and_projects(
        store, (b.user_id for b in found), (b.project_id for b in found)
    )
    return [
        BookingType(
            id=strawberry.ID(b.id),
            project=projects[b.project_id],
            user=people.get(b.user_id, "unknown"),
            gpus=b.gpus,
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            time_zone=b.time_zone,
            note=b.note,
            released_at=b.released_at,
            release_reason=b.release_reason,
            idle=b.id in idle,
        )
        for b in found
    ]


def _local(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date and time like 2026-12-01T09:00.", field=field
        ) from None


@strawberry.type
class BookingQueries:
    @strawberry.field(description="Bookings overlapping a range (default: the next 14 days).")
    async def gpu_bookings(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> list[BookingType]:
        ctx = info.context
        since = since or now() - timedelta(days=1)
        found = await bookings.between(
            ctx.store, ctx.principal, since, until or since + timedelta(days=15)
        )
        return await shown(ctx.store, found)

    @strawberry.field(description="GPU quotas of projects and teams.")
    async def gpu_quotas(self, info: Info) -> list[QuotaType]:
        ctx = info.context
        return [
            QuotaType(scope=q.scope_kind, name=q.name, gpus=q.gpus)
            for q in await bookings.quotas(ctx.store, ctx.principal)
        ]

    @strawberry.field(
        description="Is it fairly shared? GPU-hours used by each project or team "
        "against what its quota promises (default: the last 30 days)."
    )
    async def fair_share(
        self,
        info: Info,
        by: str = "project",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[FairShareType]:
        ctx = info.context
        until = until or now()
        rows = await bookings.fair_share(
            ctx.store, ctx.principal, by, since or until - timedelta(days=30), until
        )
        return [
            FairShareType(
                who=r.who,
                gpu_hours=r.gpu_hours,
                share_of_use=r.share_of_use,
                quota_gpus=r.quota_gpus,
                share_of_quota=r.share_of_quota,
            )
            for r in rows
        ]


@strawberry.type
class BookingMutations:
    @strawberry.mutation(
        description="Book GPUs for a slot (editors and up): start and end as wall-clock times "
        "(2026-12-01T09:00) in timeZone. Refused, with the reason, when the cluster or a quota "
        "has not that many GPUs free at some moment of the slot."
    )
    async def book_gpus(
        self,
        info: Info,
        project: str,
        gpus: float,
        start: str,
        end: str,
        time_zone: str = "UTC",
        note: str = "",
    ) -> BookingResult:
        ctx = info.context

        async def made() -> BookingType:
            wanted = bookings.Request(
                project, gpus, _local(start, "start"), _local(end, "end"), time_zone, note
            )
            return (
                await shown(ctx.store, [await bookings.book(ctx.store, ctx.principal, wanted)])
            )[0]

        return await result_of(made(), lambda b: b)

    @strawberry.mutation(description="Give a booking back: whoever booked it, or a maintainer.")
    async def release_booking(self, info: Info, id: strawberry.ID) -> BookingResult:
        ctx = info.context

        async def released() -> BookingType:
            booking = await bookings.release(ctx.store, ctx.principal, id)
            return (await shown(ctx.store, [booking]))[0]

        return await result_of(released(), lambda b: b)

    @strawberry.mutation(
        description="Set a project's or team's GPU quota (site admins); no gpus removes it."
    )
    async def set_gpu_quota(
        self, info: Info, scope: str, name: str, gpus: float | None = None
    ) -> QuotaResult:
        ctx = info.context
        work = bookings.set_quota(ctx.store, ctx.principal, scope, name, gpus)
        return await result_of(
            work, lambda q: QuotaType(scope=scope, name=name, gpus=q.gpus if q else 0.0)
        )
