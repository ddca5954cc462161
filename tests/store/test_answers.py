"""Answers kept in memory between changes (hub/store/answers.py), on a real DuckDB file and a
real PostgreSQL database: a read after a change sees it, and a kept answer is still audited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.services.collaboration import comments
from hub.services.lifecycle import trash
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics, runs
from hub.store import Store, open_store
from hub.store.answers import MISSING, Answers, Kept
from hub.store.runs import _key_values
from hub.store.touched import EVERYTHING
from tests.store.helpers import log_points


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[Store]:
    """A hub's own DuckDB file: the only kind that keeps answers."""
    store = open_store(tmp_path / "salon.duckdb")
    yield store
    store.close()


def page_names(store: Store) -> list[str]:
    page = asyncio.run(runs.search_runs(store, SYSTEM, "p", None, None, 100, None, 500))
    return sorted(run.name for run in page.runs)


def new_run(store: Store, name: str) -> str:
    made = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e", name=name)))
    return made.id


def test_a_runs_page_read_again_shows_every_change_since(store: Store) -> None:
    first = new_run(store, "first")
    assert page_names(store) == ["first"]
    assert page_names(store) == ["first"]  # the second read may come from memory
    second = new_run(store, "second")
    assert page_names(store) == ["first", "second"]
    asyncio.run(runs.rename_run(store, SYSTEM, second, "renamed"))
    assert page_names(store) == ["first", "renamed"]
    asyncio.run(runs.log_params(store, SYSTEM, first, {"lr": "0.1"}))
    assert [p.key for p in asyncio.run(store.runs.params_for([first]))] == ["lr"]
    asyncio.run(trash.move_to_trash(store, SYSTEM, "run", first))
    assert page_names(store) == ["renamed"]
    assert asyncio.run(store.runs.by_ids([first])) == {}


def test_runs_read_by_id_leave_out_the_trash_as_it_is_now(store: Store) -> None:
    """A few ids and many (asked as a parameter each or as one list), read before a run goes
    to the trash, after, and after it is restored: the trash as it is at each read."""
    ids = [new_run(store, f"run-{i}") for i in range(6)]
    gone = ids[1]

    def found(wanted: list[str], trashed: bool = False) -> set[str]:
        return set(asyncio.run(store.runs.by_ids(wanted, trashed=trashed)))

    for wanted in (ids[:2], ids):
        assert found(wanted) == set(wanted)
        assert found(wanted) == set(wanted)  # the second read may come from memory
    entry = asyncio.run(trash.move_to_trash(store, SYSTEM, "run", gone))
    for wanted in (ids[:2], ids):
        assert found(wanted) == set(wanted) - {gone}
        assert found(wanted, trashed=True) == set(wanted)
    asyncio.run(trash.restore(store, SYSTEM, entry.id))
    for wanted in (ids[:2], ids):
        assert found(wanted) == set(wanted)


def test_a_curve_read_again_after_more_points_has_them(store: Store) -> None:
    run_id = new_run(store, "curve")
    log_points(store, run_id, {"loss": [3.0, 2.0, 1.0]})

    def curve() -> list[float]:
        (series,) = asyncio.run(metrics.series(store, SYSTEM, [run_id], ["loss"], 100))
        return series.values

    assert curve() == [3.0, 2.0, 1.0]
    assert curve() == [3.0, 2.0, 1.0]
    log_points(store, run_id, {"loss": [0.5]}, start_step=3)
    assert curve() == [3.0, 2.0, 1.0, 0.5]
    log_points(store, run_id, {"loss": [0.25]}, start_step=3)  # the same step again
    (series,) = asyncio.run(metrics.series(store, SYSTEM, [run_id], ["loss"], 100))
    assert series.point_count == 5


def test_a_purged_runs_curve_is_not_answered_from_memory(store: Store) -> None:
    run_id = new_run(store, "gone")
    log_points(store, run_id, {"loss": [3.0, 2.0]})
    assert len(asyncio.run(metrics.series(store, SYSTEM, [run_id], ["loss"], 100))) == 1
    entry = asyncio.run(trash.move_to_trash(store, SYSTEM, "run", run_id))
    asyncio.run(trash.purge(store, SYSTEM, entry.id, recent=0))
    assert asyncio.run(store.metrics.series([run_id], ["loss"], 100)) == []


def test_every_read_is_audited_even_when_answered_from_memory(own_store: Store) -> None:
    new_run(own_store, "audited")
    assert own_store.db.answers is not None
    page_names(own_store)
    generation, (seq, _) = own_store.db.answers.generation, own_store.audit.head
    page_names(own_store)
    # The read's own audit event is a commit, but no change: the answer stays kept ...
    assert own_store.db.answers.generation == generation
    # ... and the read answered from memory is in the chain all the same.
    assert own_store.audit.head[0] == seq + 1
    new_run(own_store, "changed")
    assert own_store.db.answers.generation > generation


def test_a_comment_keeps_the_runs_page_and_a_new_setting_drops_it(own_store: Store) -> None:
    run_id = new_run(own_store, "discussed")
    answers = own_store.db.answers
    assert answers is not None
    page_names(own_store)
    assert asyncio.run(own_store.runs.params_for([run_id])) == []
    kept = answers.keys()
    params = {key for key in kept if key[0] is _key_values}
    assert params and kept - params
    generation = answers.generation
    asyncio.run(comments.add(own_store, SYSTEM, "run", run_id, "Loss is flat after step 3"))
    # The comment committed (a change), and changed no table the runs page was read from.
    assert answers.generation > generation
    assert kept <= answers.keys()
    assert page_names(own_store) == ["discussed"]
    # A setting drops the answers read from the settings, and only those.
    asyncio.run(runs.log_params(own_store, SYSTEM, run_id, {"lr": "0.1"}))
    assert not params & answers.keys()
    assert kept - params <= answers.keys()
    assert [p.key for p in asyncio.run(own_store.runs.params_for([run_id]))] == ["lr"]


def test_people_and_groups_read_again_show_every_change_since(store: Store) -> None:
    """Comments name their authors and mentions through people by id and the list of groups,
    which may be answered from memory: a disabled account and a new group show at once."""
    from hub.services.identity import accounts
    from hub.services.policy.names import people_and_groups

    ana = asyncio.run(accounts.create_user(store, SYSTEM, "ana", None, display_name="Ana"))
    for _ in range(2):  # the second may come from memory
        assert asyncio.run(store.users.by_ids([ana.id]))[ana.id].disabled_at is None
        assert asyncio.run(store.users.groups()) == []
    asyncio.run(accounts.set_disabled(store, SYSTEM, "ana", True))
    assert asyncio.run(store.users.by_ids([ana.id]))[ana.id].disabled_at is not None
    team = asyncio.run(accounts.create_group(store, SYSTEM, "vision-team"))
    assert [g.name for g in asyncio.run(store.users.groups())] == ["vision-team"]
    names = asyncio.run(people_and_groups(store, [ana.id, team.id]))
    assert names == {ana.id: ("ana", "Ana"), team.id: ("vision-team", "vision-team")} | {
        SYSTEM.user_id: (SYSTEM.user_name, "Salon")
    }


def test_hubs_sharing_a_database_keep_no_answers(store: Store, backend: str) -> None:
    kept = store.db.answers is not None
    assert kept == (backend == "duckdb"), "other hubs change a shared database underneath"


def test_an_answer_read_while_a_change_committed_is_not_kept() -> None:
    answers = Answers()
    generation = answers.generation
    answers.changed()  # a write of unknown reach committed while the read was under way
    answers.keep_read("key", generation, "maybe from before the change", frozenset({"runs"}))
    assert answers.get("key") is MISSING
    answers.keep_read("key", answers.generation, "after", frozenset({"runs"}))
    assert answers.get("key") == "after"
    answers.changed()
    assert answers.get("key") is MISSING


def test_a_change_drops_only_the_answers_read_from_the_tables_it_changed() -> None:
    answers = Answers()
    answers.keep_read("runs page", answers.generation, "page", frozenset({"runs", "params"}))
    answers.keep_read("project", answers.generation, "project", frozenset({"projects"}))
    answers.changed(frozenset({"comments", "audit_events"}))
    assert (answers.get("runs page"), answers.get("project")) == ("page", "project")
    answers.changed(frozenset({"params"}))
    assert (answers.get("runs page"), answers.get("project")) == (MISSING, "project")

    # A read racing a change is kept only if the change did not touch what it read.
    generation = answers.generation
    answers.changed(frozenset({"comments"}))
    answers.keep_read("runs page", generation, "page again", frozenset({"runs", "params"}))
    assert answers.get("runs page") == "page again"
    generation = answers.generation
    answers.changed(frozenset({"runs"}))
    answers.keep_read("runs page", generation, "stale", frozenset({"runs", "params"}))
    assert answers.get("runs page") is MISSING
    # A read of unknown reach is dropped by any change, and kept after none.
    answers.keep_read("anything", answers.generation, "all", EVERYTHING)
    assert answers.get("anything") == "all"
    answers.changed(frozenset({"comments"}))
    assert answers.get("anything") is MISSING
    # Older than the changes remembered: not kept.
    generation = answers.generation
    for _ in range(300):
        answers.changed(frozenset({"comments"}))
    answers.keep_read("late", generation, "read long ago", frozenset({"projects"}))
    assert answers.get("late") is MISSING


def test_kept_answers_are_bounded_by_weight_least_recently_used_first() -> None:
    kept = Kept(capacity=10)
    kept.keep("a", 1, weight=4)
    kept.keep("b", 2, weight=4)
    assert kept.get("a") == 1  # now the most recently used
    kept.keep("c", 3, weight=4)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, MISSING, 3)
    kept.keep("huge", 4, weight=11)
    assert kept.get("huge") is MISSING and len(kept) == 2


def test_a_read_that_closes_over_variables_cannot_be_kept(own_store: Store) -> None:
    table = "params"
    with pytest.raises(TypeError, match="closes over"):
        asyncio.run(own_store.db.read_kept(lambda cur: _key_values(cur, table, ["x"])))


def test_a_kept_list_given_to_a_caller_is_its_own(own_store: Store) -> None:
    run_id = new_run(own_store, "lists")
    asyncio.run(runs.log_params(own_store, SYSTEM, run_id, {"lr": "0.1"}))
    asyncio.run(own_store.runs.params_for([run_id])).clear()
    assert len(asyncio.run(own_store.runs.params_for([run_id]))) == 1


READS: list[str] = []


def _counted_read(cur: object, name: str) -> str:
    READS.append(name)
    time.sleep(0.2)  # long enough for every caller to ask while it is under way
    return name.upper()


def test_the_same_read_asked_while_under_way_is_read_once(own_store: Store) -> None:
    READS.clear()

    async def many() -> list[str]:
        first = asyncio.ensure_future(own_store.db.read_kept(_counted_read, "page"))
        others = [
            asyncio.ensure_future(own_store.db.read_kept(_counted_read, "page")) for _ in range(9)
        ]
        await asyncio.sleep(0.05)
        first.cancel()  # the first caller's client hangs up: the others still get the answer
        return list(await asyncio.gather(*others))

    assert asyncio.run(many()) == ["PAGE"] * 9
    assert READS == ["page"]
    assert asyncio.run(own_store.db.read_kept(_counted_read, "page")) == "PAGE"
    assert READS == ["page"], "kept once read"


def _count_of_notes(cur: Any) -> int:
    return int(cur.execute("SELECT count(*) FROM notes_made_later").fetchone()[0])


def test_a_table_made_after_the_hub_started_is_watched_too(own_store: Store) -> None:
    asyncio.run(
        own_store.db.write(lambda cur: cur.execute("CREATE TABLE notes_made_later (n INT)"))
    )
    assert asyncio.run(own_store.db.read_kept(_count_of_notes)) == 0
    assert asyncio.run(own_store.db.read_kept(_count_of_notes)) == 0  # from memory
    asyncio.run(
        own_store.db.write(lambda cur: cur.execute("INSERT INTO notes_made_later VALUES (1)"))
    )
    assert asyncio.run(own_store.db.read_kept(_count_of_notes)) == 1
