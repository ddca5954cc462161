"""GPU bookings and quotas through GraphQL: conflicts and quotas refused with the reason,
wall-clock times in the booker's zone including daylight-saving edges, releasing, concurrent
bookings of the last GPUs, and roles."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import hub
from hub.clock import now
from hub.domain.cluster import NodeSample
from hub.services.cluster import bookings
from hub.services.identity import accounts
from hub.services.policy.principal import SYSTEM
from tests.api.test_datasets import person
from tests.api.test_discussions import as_person
from tests.conftest import LiveHub

BOOK = """mutation($p: String!, $g: Float!, $s: String!, $e: String!, $z: String!) {
  bookGpus(project: $p, gpus: $g, start: $s, end: $e, timeZone: $z) {
    __typename ... on GpuBooking { id gpus startsAt endsAt timeZone }
    ... on Error { message } } }"""
QUOTA = """mutation($scope: String!, $n: String!, $g: Float) {
  setGpuQuota(scope: $scope, name: $n, gpus: $g) { __typename ... on Error { message } } }"""
RELEASE = """mutation($id: ID!) { releaseBooking(id: $id) {
  __typename ... on GpuBooking { releaseReason } ... on Error { message } } }"""


def cluster_of(live: LiveHub, gpus: int = 8) -> None:
    """The cluster's size, as the sampler records it."""
    sample = NodeSample(now(), "node-1", "10.0.0.5", True, 64, 0, gpus, 0)
    asyncio.run(live.store.cluster.sampled([sample], [], now(), 400))


def slot(days: int, start: str, end: str) -> tuple[str, str]:
    day = (now() + timedelta(days=days)).date().isoformat()
    return f"{day}T{start}", f"{day}T{end}"


def book(
    live: LiveHub,
    token: str,
    gpus: float,
    start: str,
    end: str,
    zone: str = "UTC",
    project: str = "vision",
) -> dict[str, Any]:
    wanted = {"p": project, "g": gpus, "s": start, "e": end, "z": zone}
    made: dict[str, Any] = as_person(live, token, BOOK, wanted)["bookGpus"]
    return made


@pytest.fixture
def team(hub_server: LiveHub) -> dict[str, str]:
    for project in ("vision", "churn"):
        hub.init(
            project=project,
            experiment="e",
            url=hub_server.url,
            token=hub_server.token,
            capture_environment=False,
        ).finish()
    cluster_of(hub_server)
    return {
        "ana": person(hub_server, "ana", "editor", "vision"),
        "bob": person(hub_server, "bob", "editor", "churn"),
        "vic": person(hub_server, "vic", "viewer", "vision"),
    }


def test_conflicts_and_quotas_are_refused_with_the_reason(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    start, end = slot(2, "09:00", "17:00")
    first = book(hub_server, team["ana"], 6, start, end, "Europe/Berlin")
    assert first["__typename"] == "GpuBooking", first
    clash = book(
        hub_server, team["bob"], 4, *slot(2, "16:00", "18:00"), "Europe/Berlin", project="churn"
    )
    assert clash["__typename"] == "ConflictError"
    assert "has 8 GPUs and 6 are already booked" in clash["message"]
    assert "2 can still be booked" in clash["message"]
    after = book(
        hub_server, team["bob"], 4, *slot(2, "17:00", "19:00"), "Europe/Berlin", project="churn"
    )
    assert after["__typename"] == "GpuBooking", "back to back is no clash"
    quota = hub_server.graphql(QUOTA, {"scope": "project", "n": "churn", "g": 5})
    assert quota["data"]["setGpuQuota"]["__typename"] == "GpuQuota"
    over = book(
        hub_server, team["bob"], 2, *slot(2, "18:00", "20:00"), "Europe/Berlin", project="churn"
    )
    assert "churn's quota is 5 GPUs; with this booking it would have 6" in over["message"]
    refused = as_person(
        hub_server, team["ana"], QUOTA, {"scope": "project", "n": "vision", "g": 100}
    )["setGpuQuota"]
    assert refused["__typename"] == "ForbiddenError"
    asyncio.run(accounts.create_group(hub_server.store, SYSTEM, "vision-team"))
    asyncio.run(accounts.add_member(hub_server.store, SYSTEM, "vision-team", "ana"))
    hub_server.graphql(QUOTA, {"scope": "team", "n": "vision-team", "g": 7})
    ana_again = person_token_with_groups(hub_server, "ana")
    team_over = book(hub_server, ana_again, 2, *slot(2, "10:00", "11:00"), "Europe/Berlin")
    assert "team vision-team's quota is 7 GPUs" in team_over["message"]
    released = as_person(hub_server, team["ana"], RELEASE, {"id": first["id"]})["releaseBooking"]
    assert released["releaseReason"] == "released"
    assert (
        book(hub_server, ana_again, 2, *slot(2, "10:00", "11:00"), "Europe/Berlin")["__typename"]
        == "GpuBooking"
    )
    taken = as_person(hub_server, team["bob"], RELEASE, {"id": after["id"]})
    assert taken["releaseBooking"]["releaseReason"] == "released"
    not_his = as_person(hub_server, team["vic"], RELEASE, {"id": after["id"]})["releaseBooking"]
    assert not_his["__typename"] == "NotFoundError", "vic cannot see the churn project"
    fair = {
        r["who"]: r
        for r in hub_server.graphql("{ fairShare { who quotaGpus shareOfQuota } }")["data"][
            "fairShare"
        ]
    }
    assert fair["churn"]["quotaGpus"] == 5 and fair["churn"]["shareOfQuota"] == pytest.approx(5 / 8)


def person_token_with_groups(live: LiveHub, name: str) -> str:
    """A fresh token, so the person's new groups are in it."""
    from tests.api.test_discussions import person_token

    return person_token(live, name)


def next_last_sunday(month: int) -> datetime:
    """The next last Sunday of ``month`` (when Europe changes its clocks), within a year."""
    for year in (now().year, now().year + 1):
        day = max(d for d in range(25, 32) if datetime(year, month, d).weekday() == 6)
        if datetime(year, month, day, tzinfo=ZoneInfo("UTC")) > now() + timedelta(days=1):
            return datetime(year, month, day)
    raise AssertionError("unreachable")


def test_wall_clock_times_across_daylight_saving(hub_server: LiveHub, team: dict[str, str]) -> None:
    spring, autumn = next_last_sunday(3), next_last_sunday(10)
    # The night the clocks go forward in Berlin: 22:00 to 06:00 is 7 hours, not 8.
    night = book(
        hub_server,
        team["ana"],
        1,
        f"{spring - timedelta(days=1):%Y-%m-%d}T22:00",
        f"{spring:%Y-%m-%d}T06:00",
        "Europe/Berlin",
    )
    span = datetime.fromisoformat(night["endsAt"]) - datetime.fromisoformat(night["startsAt"])
    assert span == timedelta(hours=7)
    # And the night they go back: 9 hours.
    back = book(
        hub_server,
        team["ana"],
        1,
        f"{autumn - timedelta(days=1):%Y-%m-%d}T22:00",
        f"{autumn:%Y-%m-%d}T06:00",
        "Europe/Berlin",
    )
    span = datetime.fromisoformat(back["endsAt"]) - datetime.fromisoformat(back["startsAt"])
    assert span == timedelta(hours=9)
    gap = book(
        hub_server,
        team["ana"],
        1,
        f"{spring:%Y-%m-%d}T02:30",
        f"{spring:%Y-%m-%d}T05:00",
        "Europe/Berlin",
    )
    assert "does not exist in Europe/Berlin" in gap["message"]
    twice = book(
        hub_server,
        team["ana"],
        1,
        f"{autumn:%Y-%m-%d}T02:30",
        f"{autumn:%Y-%m-%d}T05:00",
        "Europe/Berlin",
    )
    assert "happens twice in Europe/Berlin" in twice["message"]
    zone = ZoneInfo("America/New_York")
    start, end = slot(3, "09:00", "17:00")
    there = book(hub_server, team["ana"], 1, start, end, "America/New_York")
    assert datetime.fromisoformat(there["startsAt"]) == datetime.fromisoformat(start).replace(
        tzinfo=zone
    )
    assert there["timeZone"] == "America/New_York"


def test_bad_bookings_and_roles(hub_server: LiveHub, team: dict[str, str]) -> None:
    start, end = slot(1, "09:00", "10:00")
    for values, words in (
        ({"g": 0}, "whole number"),
        ({"g": 1.5}, "whole number"),
        ({"s": end, "e": start}, "end after it starts"),
        ({"e": (datetime.fromisoformat(start) + timedelta(days=15)).isoformat()}, "14 days"),
        ({"s": "2020-01-01T09:00", "e": "2020-01-01T10:00"}, "from now to a year ahead"),
        ({"s": "next tuesday"}, "not a date and time"),
        ({"z": "Mars/Olympus"}, "not a time zone"),
    ):
        wanted = {"p": "vision", "g": 1, "s": start, "e": end, "z": "UTC", **values}
        got = as_person(hub_server, team["ana"], BOOK, wanted)["bookGpus"]
        assert words in got.get("message", ""), (values, got)
    viewer = book(hub_server, team["vic"], 1, start, end)
    assert viewer["__typename"] == "ForbiddenError"
    assert book(hub_server, team["bob"], 1, start, end)["__typename"] == "NotFoundError"


def test_two_people_booking_the_last_gpus_at_once_cannot_both_get_them(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    start, end = slot(4, "09:00", "12:00")

    def attempt(who: tuple[str, str]) -> str:
        token, project = who
        return str(book(hub_server, token, 5, start, end, project=project)["__typename"])

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(attempt, [(team["ana"], "vision"), (team["bob"], "churn")]))
    assert results == ["ConflictError", "GpuBooking"]


def test_idle_bookings_are_released(hub_server: LiveHub, team: dict[str, str]) -> None:
    store = hub_server.store
    start = now() - timedelta(minutes=2)
    made = book(
        hub_server, team["ana"], 2, start.isoformat(), (start + timedelta(hours=2)).isoformat()
    )
    assert made["__typename"] == "GpuBooking", made
    calendar = hub_server.graphql("{ gpuBookings { id idle } }")["data"]["gpuBookings"]
    assert {"id": made["id"], "idle": True} in calendar, "flagged while nothing runs"
    assert asyncio.run(bookings.release_idle(store, timedelta(minutes=30))) == [], "in grace"
    (released,) = asyncio.run(bookings.release_idle(store, timedelta(minutes=1)))
    assert released.release_reason == "idle"


def test_jobs_respect_other_projects_bookings_and_the_quota(
    hub_server: LiveHub, team: dict[str, str]
) -> None:
    """Checked before anything is sent to the cluster (this hub has none: a job that passes
    the checks is then refused for that reason instead)."""
    start = now() - timedelta(minutes=1)
    booked = book(
        hub_server,
        team["bob"],
        7,
        start.isoformat(),
        (start + timedelta(hours=1)).isoformat(),
        project="churn",
    )
    assert booked["__typename"] == "GpuBooking", booked
    ana = hub.Client(hub_server.url, team["ana"])
    with pytest.raises(hub.HubError, match="7 of the cluster's 8 GPUs are booked by other"):
        ana.submit_job("python train.py", project="vision", gpus=2)
    with pytest.raises(hub.HubError, match="no Ray cluster"):
        ana.submit_job("python train.py", project="vision", gpus=1)
    bob = hub.Client(hub_server.url, team["bob"])
    with pytest.raises(hub.HubError, match="no Ray cluster"):
        bob.submit_job("python train.py", project="churn", gpus=7)  # his own booking
    hub_server.graphql(QUOTA, {"scope": "project", "n": "vision", "g": 0})
    with pytest.raises(hub.HubError, match="quota is 0 GPUs"):
        ana.submit_job("python train.py", project="vision", gpus=1)
