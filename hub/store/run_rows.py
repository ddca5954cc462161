"""How a run row reads: the column list and the row → record conversion."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hub.domain.tracking import RunEnvironment, RunRecord
from hub.store._rows import maybe_utc, to_utc

RUN_COLUMNS = (
    "r.id, r.project_id, r.experiment_id, r.name, r.status, r.user_name, r.notes, r.started_at, "
    "r.ended_at, r.git_commit, r.git_dirty, r.command, r.python_version, r.host, r.packages, "
    "r.created_by"
)


def run_from_row(row: Sequence[Any]) -> RunRecord:
    packages = tuple(json.loads(row[14])) if row[14] else ()
    return RunRecord(
        id=row[0],
        project_id=row[1],
        experiment_id=row[2],
        name=row[3],
        status=row[4],
        user_name=row[5],
        notes=row[6],
        started_at=to_utc(row[7]),
        ended_at=maybe_utc(row[8]),
        environment=RunEnvironment(row[9], row[10], row[11], row[12], row[13], packages),
        created_by=row[15],
    )
