"""Retention policies, on both backends: what a policy says is due, the hub moving it to the
trash, legal holds keeping what they cover, and who may set a policy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.clock import now
from hub.domain.audit import AuditQuery
from hub.errors import Forbidden, InvalidInput
from hub.services.data import dataset_uploads
from hub.services.identity import accounts, tokens
from hub.services.lifecycle import holds, retention, trash
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.settings import Settings
from hub.store import Store
from tests.services.helpers import run


def old_run(store: Store, name: str, days: int, tags: dict[str, str] | None = None) -> str:
    started = now() - timedelta(days=days)
    made = run(
        runs.create_run(
            store,
            SYSTEM,
            runs.NewRun("vision", "e", name=name, tags=tags or {}, started_at=started),
        )
    )
    run(runs.finish_run(store, SYSTEM, made.id, "finished", started + timedelta(hours=2)))
    return made.id


def test_a_policy_moves_what_it_no_longer_keeps_to_the_trash(store: Store, tmp_path: Path) -> None:
    old_run(store, "old-a", 100)
    old_run(store, "old-kept", 100, {"keep": "paper"})
    old_run(store, "recent", 3)
    still = run(
        runs.create_run(
            store,
            SYSTEM,
            runs.NewRun("vision", "e", name="old-running", started_at=now() - timedelta(days=90)),
        )
    )
    settings = Settings(data_dir=tmp_path)
    for rows in range(1, 5):
        source = tmp_path / "readings.csv"
        source.write_text("a\n" + "".join(f"{i}\n" for i in range(rows)))
        run(dataset_uploads.upload(store, settings, SYSTEM, "vision", "readings", source, "r.csv"))
        run(dataset_uploads.upload(store, settings, SYSTEM, "vision", "held", source, "r.csv"))

    assert run(retention.policy_of(store, SYSTEM, "vision")) == (None, retention.Due((), ()))
    run(retention.set_policy(store, SYSTEM, "vision", runs_days=30, versions_kept=2))
    run(holds.place(store, SYSTEM, "dataset", "held", "audit", project="vision"))
    policy, due = run(retention.policy_of(store, SYSTEM, "vision"))
    assert policy is not None and (policy.runs_days, policy.versions_kept) == (30, 2)
    assert [name for _, name in due.runs] == ["old-a"]  # kept by tag, recent, or running
    assert [label for _, label in due.versions] == ["readings v1", "readings v2"]

    assert run(retention.apply_all(store)) == 3
    trashed = run(trash.trash_of(store, SYSTEM))
    assert sorted(e.label for e in trashed) == ["old-a", "readings v1", "readings v2"]
    assert {e.trashed_by for e in trashed} == {"salon (retention)"}
    assert run(retention.apply_all(store)) == 0  # nothing is moved twice
    assert run(retention.policy_of(store, SYSTEM, "vision"))[1] == retention.Due((), ())
    assert run(runs.get_run(store, SYSTEM, still.id)).name == "old-running"

    run(holds.place(store, SYSTEM, "project", "vision", "litigation"))
    old_run(store, "old-b", 60)
    assert run(retention.apply_all(store)) == 0, "a held project's retention went ahead"


def test_who_may_set_a_policy_and_what_it_refuses(store: Store) -> None:
    old_run(store, "x", 1)
    user = run(accounts.create_user(store, SYSTEM, "ed", "a-long-password-1"))
    ed = run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
    run(access.grant_role(store, SYSTEM, "vision", "user", "ed", "editor"))
    with pytest.raises(Forbidden, match="needs maintainer"):
        run(retention.set_policy(store, ed, "vision", runs_days=30, versions_kept=None))
    assert run(retention.policy_of(store, ed, "vision"))[0] is None  # editors may look
    with pytest.raises(InvalidInput, match="1 to 36500 days"):
        run(retention.set_policy(store, SYSTEM, "vision", runs_days=0, versions_kept=None))
    with pytest.raises(InvalidInput, match="newest version"):
        run(retention.set_policy(store, SYSTEM, "vision", runs_days=None, versions_kept=0))
    with pytest.raises(InvalidInput, match="1 to 100 years"):
        run(retention.set_policy(store, SYSTEM, "vision", None, None, audit_years=0))


def test_audit_events_past_their_years_are_emptied_and_the_chain_still_verifies(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_run(store, "a", 1)
    run(runs.create_run(store, SYSTEM, runs.NewRun("nlp", "e", name="other")))
    run(retention.set_policy(store, SYSTEM, "vision", None, None, audit_years=1))
    vision = run(store.projects.by_name("vision"))
    assert vision is not None
    before = run(store.audit.search(AuditQuery(project_id=vision.id), limit=1000))
    assert len(before) >= 3
    assert run(retention.policy_of(store, SYSTEM, "vision"))[1].audit_events == 0

    later = now() + timedelta(days=800)  # two years on, every event so far is past one year
    monkeypatch.setattr(retention, "now", lambda: later)
    due = run(retention.policy_of(store, SYSTEM, "vision"))[1]
    assert due.audit_events == len(before) + 1  # the first policy read is old as well
    emptied = len(before) + 2  # and so is the second, recorded after it answered
    assert run(retention.apply_all(store)) == emptied
    left = run(store.audit.search(AuditQuery(project_id=vision.id), limit=1000))
    assert [(e.action, e.row_count) for e in left] == [("audit.prune", emptied)]
    assert run(store.audit.search(AuditQuery(action="run.create"), limit=10))  # nlp's stay
    report = run(store.audit.verify())
    assert report.ok, report
    assert report.head_seq == store.audit.head[0]
    # Nothing is emptied twice: the next round finds only the record of this one, which the
    # test's clock also puts two years back; the newer record then accounts for it.
    assert run(retention.apply_all(store)) == 1
    assert run(store.audit.verify()).ok

    run(holds.place(store, SYSTEM, "project", "vision", "litigation"))
    monkeypatch.setattr(retention, "now", lambda: later + timedelta(days=800))
    assert run(retention.apply_all(store)) == 0, "a held project's audit events were emptied"
