"""What Salon keeps of the GPU cluster: node samples, jobs and whether the cluster answered,
and resource-hours computed from the jobs' own start and end times."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.domain.audit import EventDraft
from hub.domain.cluster import ClusterCheck, ClusterJob, NodeSample, Usage
from hub.store._rows import maybe_utc, row_of, to_naive, to_utc
from hub.store.database import Cursor, Database

_JOB = ", ".join(f.name for f in dataclasses.fields(ClusterJob))
_SAMPLE = ", ".join(f.name for f in dataclasses.fields(NodeSample))
_SAMPLE_COUNT = len(dataclasses.fields(NodeSample))
PERIODS = {"day": "1 DAY", "week": "1 WEEK", "month": "1 MONTH"}


def _job(row: tuple[Any, ...]) -> ClusterJob:
    values = list(row)
    values[9], values[10], values[12] = (
        maybe_utc(values[9]),
        maybe_utc(values[10]),
        to_utc(values[12]),
    )
    return ClusterJob(*values)


def _upsert(cur: Cursor, jobs: Sequence[ClusterJob]) -> None:
    """Record jobs as last seen; what Salon knew first (who submitted it, for which run) and a
    known start stays when Ray's answer lacks it."""
    for job in jobs:
        old = cur.execute(
            f"SELECT {_JOB} FROM cluster_jobs WHERE submission_id = ?", [job.submission_id]
        ).fetchone()
        if old is not None:
            known = _job(old)
            job = dataclasses.replace(
                job,
                submitted_by=known.submitted_by or job.submitted_by,
                run_id=known.run_id or job.run_id,
                gpus=job.gpus or known.gpus,
                cpus=job.cpus or known.cpus,
                started_at=job.started_at or known.started_at,
                project=job.project or known.project,
            )
            cur.execute("DELETE FROM cluster_jobs WHERE submission_id = ?", [job.submission_id])
        values = row_of(job)
        cur.execute(
            f"INSERT INTO cluster_jobs ({_JOB}) VALUES ({', '.join('?' * len(values))})", values
        )


def _sampled(
    cur: Cursor,
    nodes: Sequence[NodeSample],
    jobs: Sequence[ClusterJob],
    at: datetime,
    keep_days: int,
) -> None:
    if nodes:
        cur.executemany(
            f"INSERT INTO cluster_samples ({_SAMPLE}) VALUES ({', '.join('?' * _SAMPLE_COUNT)})",
            [
                [
                    to_naive(n.sampled_at) if f.name == "sampled_at" else getattr(n, f.name)
                    for f in dataclasses.fields(NodeSample)
                ]
                for n in nodes
            ],
        )
    _upsert(cur, jobs)
    cur.execute("INSERT INTO cluster_checks VALUES (?, true, NULL)", [to_naive(at)])
    _prune(cur, at, keep_days)


def _prune(cur: Cursor, at: datetime, keep_days: int) -> None:
    cutoff = to_naive(at - timedelta(days=keep_days))
    cur.execute("DELETE FROM cluster_samples WHERE sampled_at < ?", [cutoff])
    cur.execute(
        "DELETE FROM cluster_checks WHERE checked_at < ?", [to_naive(at - timedelta(days=2))]
    )


class ClusterStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sampled(
        self,
        nodes: Sequence[NodeSample],
        jobs: Sequence[ClusterJob],
        at: datetime,
        keep_days: int,
    ) -> None:
        await self._db.write(_sampled, nodes, jobs, at, keep_days)

    async def failed(self, at: datetime, error: str) -> None:
        await self._db.write(
            lambda cur: cur.execute(
                "INSERT INTO cluster_checks VALUES (?, false, ?)", [to_naive(at), error[:500]]
            )
        )

    async def last_check(self) -> tuple[ClusterCheck | None, datetime | None]:
        """The latest look at the cluster, and when it last answered."""

        def select(cur: Cursor) -> tuple[ClusterCheck | None, datetime | None]:
            row = cur.execute(
                "SELECT checked_at, ok, error FROM cluster_checks ORDER BY checked_at DESC LIMIT 1"
            ).fetchone()
            good = cur.execute("SELECT max(checked_at) FROM cluster_checks WHERE ok").fetchone()
            check = ClusterCheck(to_utc(row[0]), row[1], row[2]) if row else None
            return check, maybe_utc(good[0]) if good else None

        return await self._db.read(select)

    async def latest_nodes(self) -> list[NodeSample]:
        def select(cur: Cursor) -> list[NodeSample]:
            rows = cur.execute(
                f"SELECT {_SAMPLE} FROM cluster_samples WHERE sampled_at = "
                "(SELECT max(sampled_at) FROM cluster_samples) ORDER BY address, node_id"
            ).fetchall()
            return [NodeSample(to_utc(r[0]), *r[1:]) for r in rows]

        return await self._db.read(select)

    async def history(
        self, since: datetime, until: datetime, buckets: int
    ) -> list[tuple[datetime, float, float]]:
        """GPUs in the cluster and in use over time: per bucket, the average of the samples."""

        def select(cur: Cursor) -> list[tuple[datetime, float, float]]:
            width = max(1.0, (until - since).total_seconds() / max(1, buckets))
            rows = cur.execute(
                "WITH per_sample AS (SELECT sampled_at, sum(gpus) AS gpus, sum(gpus_used) AS used "
                "FROM cluster_samples WHERE sampled_at BETWEEN ? AND ? GROUP BY sampled_at) "
                "SELECT time_bucket(to_microseconds(?::BIGINT), sampled_at) AS bucket, avg(gpus), "
                "avg(used) FROM per_sample GROUP BY bucket ORDER BY bucket",
                [to_naive(since), to_naive(until), int(width * 1_000_000)],
            ).fetchall()
            return [(to_utc(r[0]), float(r[1]), float(r[2])) for r in rows]

        return await self._db.read(select)

    async def jobs(self, limit: int = 500, run_id: str | None = None) -> list[ClusterJob]:
        def select(cur: Cursor) -> list[ClusterJob]:
            rows = cur.execute(
                f"SELECT {_JOB} FROM cluster_jobs WHERE ? IS NULL OR run_id = ? "
                "ORDER BY coalesce(started_at, last_seen) DESC LIMIT ?",
                [run_id, run_id, limit],
            ).fetchall()
            return [_job(r) for r in rows]

        return await self._db.read(select)

    async def job(self, submission_id: str) -> ClusterJob | None:
        def select(cur: Cursor) -> ClusterJob | None:
            row = cur.execute(
                f"SELECT {_JOB} FROM cluster_jobs WHERE submission_id = ?", [submission_id]
            ).fetchone()
            return _job(row) if row else None

        return await self._db.read(select)

    async def note(self, events: Sequence[EventDraft]) -> None:
        """Record what was done to the cluster itself (audit and feed), no row of Salon's."""
        await self._db.audited_write(events, lambda cur: None)

    async def record_job(self, job: ClusterJob, *, audit: Sequence[EventDraft]) -> None:
        await self._db.audited_write(audit, _upsert, [job])

    async def usage(self, since: datetime, until: datetime, period: str, by: str) -> list[Usage]:
        """GPU- and CPU-hours per period and per ``by`` (user_name, project, run_id, or
        ``person_project``: user name and project joined by a unit separator) between ``since``
        and ``until``: each job's resources times its running time inside each period (a job
        still running counts until ``until``)."""
        step = PERIODS[period]
        column = {
            "person": "user_name",
            "project": "coalesce(project, 'no project')",
            "run": "coalesce(run_id, '')",
            "person_project": "user_name || chr(31) || coalesce(project, '')",
        }[by]

        def select(cur: Cursor) -> list[Usage]:
            rows = cur.execute(
                f"""WITH j AS (
                  SELECT {column} AS who, gpus, cpus, greatest(started_at, ?) AS s,
                         least(coalesce(ended_at, ?), ?) AS e
                  FROM cluster_jobs WHERE started_at IS NOT NULL AND started_at < ?
                    AND coalesce(ended_at, ?) > ?),
                spans AS (
                  SELECT who, gpus, cpus, s, e, unnest(generate_series(
                      date_trunc('{period}', s), e, INTERVAL {step})) AS period FROM j WHERE e > s)
                SELECT period, who,
                  sum(gpus * epoch(least(e, period + INTERVAL {step}) - greatest(s, period)))
                    / 3600,
                  sum(cpus * epoch(least(e, period + INTERVAL {step}) - greatest(s, period)))
                    / 3600,
                  count(*)
                FROM spans WHERE least(e, period + INTERVAL {step}) > greatest(s, period)
                GROUP BY period, who ORDER BY period, who""",
                [
                    to_naive(since),
                    to_naive(until),
                    to_naive(until),
                    to_naive(until),
                    to_naive(until),
                    to_naive(since),
                ],
            ).fetchall()
            return [Usage(to_utc(r[0]), r[1], float(r[2]), float(r[3]), int(r[4])) for r in rows]

        return await self._db.read(select)
