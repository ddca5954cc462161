"""The trash, on both backends: what it hides, what comes back, what a purge removes (rows,
metric points, files no one else uses), who may do each, and two people at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub.domain.tracking import LoggedModelMetric
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.services.collaboration import activity, pages, tasks
from hub.services.data import dataset_uploads, datasets
from hub.services.identity import accounts, tokens
from hub.services.lifecycle import holds, trash
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import artifacts, logged_models, projects, runs
from hub.settings import Settings
from hub.store import Store
from tests.services.helpers import person, run
from tests.store.helpers import history_table, log_points


@pytest.fixture
def team(store: Store) -> dict[str, Principal]:
    """ana maintains 'vision' (she made it); ben edits, cleo views."""
    people = {name: person(store, name) for name in ("ana", "ben", "cleo")}
    run(runs.create_run(store, people["ana"], runs.NewRun("vision", "baseline", name="first")))
    run(access.grant_role(store, people["ana"], "vision", "user", "ben", "editor"))
    run(access.grant_role(store, people["ana"], "vision", "user", "cleo", "viewer"))
    return people


def start(store: Store, who: Principal, experiment: str, name: str) -> str:
    return run(runs.create_run(store, who, runs.NewRun("vision", experiment, name=name))).id


def searched(store: Store, who: Principal) -> list[str]:
    page = run(runs.search_runs(store, who, "vision", None, None, 100, None, 100))
    return sorted(r.name for r in page.runs)


def point_rows(store: Store, run_id: str) -> int:
    """Points of the run's series as stored (the DuckLake on the shared backend), counted
    without the summaries a purge removes: the series ids are taken first."""
    return int(
        store.db.read_sync(
            lambda cur: cur.execute(
                "SELECT count(*) FROM metrics WHERE series_id IN "
                "(SELECT series_id FROM metric_summaries WHERE run_id = ?)",
                [run_id],
            ).fetchone()
        )[0]
    )


def series_ids(store: Store, run_id: str) -> list[int]:
    rows = store.db.read_sync(
        lambda cur: cur.execute(
            "SELECT series_id FROM metric_summaries WHERE run_id = ?", [run_id]
        ).fetchall()
    )
    return [row[0] for row in rows]


def points_of_series(store: Store, ids: list[int]) -> int:
    marks = ", ".join("?" * len(ids))
    return int(
        store.db.read_sync(
            lambda cur: cur.execute(
                f"SELECT count(*) FROM metrics WHERE series_id IN ({marks})", ids
            ).fetchone()
        )[0]
    )


def test_a_trashed_run_leaves_lists_search_and_feed_and_comes_back_whole(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    kept = start(store, ana, "baseline", "kept")
    gone = start(store, ana, "baseline", "mistake")
    log_points(store, gone, {"loss": [1.0, 0.5, 0.25]})
    run(runs.set_tags(store, ana, gone, {"stage": "smoke"}))
    before = history_table(store, [gone])

    entry = run(trash.move_to_trash(store, ana, "run", gone))
    assert (entry.kind, entry.label, entry.trashed_by) == ("run", "mistake", "ana")
    assert searched(store, ana) == ["first", "kept"]
    with pytest.raises(NotFound):
        run(runs.get_run(store, ana, gone))
    with pytest.raises(NotFound):  # nor can it be written to
        log_points(store, gone, {"loss": [0.1]}, start_step=3)
    counts = run(store.projects.run_counts([entry.project_id]))
    assert counts[entry.project_id] == 2
    feed = run(activity.feed(store, ana, project="vision"))
    assert all(gone not in (e.object_id, e.target_id) for e in feed)
    assert any(e.verb == "trash.put" for e in feed)
    listed = run(trash.trash_of(store, ana))
    assert [(e.id, e.holds) for e in listed] == [(entry.id, (("run", 1),))]

    run(trash.restore(store, ana, entry.id))
    assert searched(store, ana) == ["first", "kept", "mistake"]
    back = run(runs.get_run(store, ana, gone))
    assert back.name == "mistake" and kept
    assert history_table(store, [gone]).equals(before)
    assert run(trash.trash_of(store, ana)) == []


def test_an_experiment_takes_its_runs_but_not_one_trashed_on_its_own(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    alone = start(store, ana, "sweep", "alone")
    start(store, ana, "sweep", "with-it")
    alone_entry = run(trash.move_to_trash(store, ana, "run", alone))
    sweep = run(projects.visible_project(store, ana, "vision"))
    experiment = next(e for e in run(projects.experiments(store, ana, sweep)) if e.name == "sweep")
    entry = run(trash.move_to_trash(store, ana, "experiment", experiment.id))
    assert entry.holds == (("experiment", 1), ("run", 1))  # the lone run has its own entry
    assert searched(store, ana) == ["first"]
    assert "sweep" not in [e.name for e in run(projects.experiments(store, ana, sweep))]

    with pytest.raises(Conflict, match="experiment sweep, which is in the trash too"):
        run(trash.restore(store, ana, alone_entry.id))
    with pytest.raises(Conflict, match="'sweep' is in the trash; restore it"):
        start(store, ana, "sweep", "new-one")  # a name stays taken while it may come back
    with pytest.raises(Conflict, match="already in the trash"):
        run(trash.move_to_trash(store, ana, "run", alone))

    run(trash.restore(store, ana, entry.id))
    assert searched(store, ana) == ["first", "with-it"]
    run(trash.restore(store, ana, alone_entry.id))
    assert searched(store, ana) == ["alone", "first", "with-it"]


def test_who_may_trash_restore_and_purge(store: Store, team: dict[str, Principal]) -> None:
    ana, ben, cleo = team["ana"], team["ben"], team["cleo"]
    anas = start(store, ana, "baseline", "anas")
    bens = start(store, ben, "baseline", "bens")
    with pytest.raises(Forbidden, match="needs maintainer"):  # an editor: only their own
        run(trash.move_to_trash(store, ben, "run", anas))
    with pytest.raises(Forbidden, match=r"is viewer; trash\.put needs maintainer"):
        run(trash.move_to_trash(store, cleo, "run", bens))
    outsider = person(store, "dan")
    with pytest.raises(NotFound):  # not found and hidden look the same
        run(trash.move_to_trash(store, outsider, "run", bens))
    project = run(projects.visible_project(store, ana, "vision"))
    with pytest.raises(Forbidden, match="needs maintainer"):
        run(trash.move_to_trash(store, ben, "project", project.id))

    entry = run(trash.move_to_trash(store, ben, "run", bens))
    with pytest.raises(Forbidden, match="needs maintainer"):  # purging is for maintainers
        run(trash.purge(store, ben, entry.id))
    with pytest.raises(NotFound):
        run(trash.purge(store, outsider, entry.id))
    assert run(trash.trash_of(store, outsider)) == []
    run(trash.restore(store, ben, entry.id))  # what one trashed, one may bring back
    anas_entry = run(trash.move_to_trash(store, ana, "run", anas))
    with pytest.raises(Forbidden, match="needs maintainer"):
        run(trash.restore(store, ben, anas_entry.id))
    with pytest.raises(InvalidInput, match="'comment' cannot be moved to the trash; choose"):
        run(trash.move_to_trash(store, ana, "comment", anas))


def test_a_purge_removes_rows_points_and_the_files_no_one_else_uses(
    store: Store, team: dict[str, Principal], tmp_path: Path
) -> None:
    ana = team["ana"]
    settings = Settings(data_dir=tmp_path)
    upload = tmp_path / "upload"
    upload.mkdir()

    def version(dataset: str, rows: str) -> None:
        source = upload / f"{dataset}.csv"
        source.write_text("customer_id,amount\n" + rows)
        run(
            dataset_uploads.upload(
                store, settings, ana, "vision", dataset, source, source.name, message="m"
            )
        )

    version("claims", "C-1,10\nC-2,20\n")
    version("claims", "C-1,10\nC-2,20\nC-3,30\n")
    version("copy", "C-1,10\nC-2,20\n")  # the same content as claims v1: one object
    found = run(datasets.find(store, ana, "vision", "claims"))
    files = {
        v.number: run(store.datasets.files(v.id))[0].object_hash
        for v in run(datasets.versions(store, found))
    }
    assert store.objects.exists(files[1]) and store.objects.exists(files[2])

    doomed = start(store, ana, "baseline", "doomed")
    log_points(store, doomed, {"loss": [float(i) for i in range(500)], "acc": [0.5] * 500})
    series = series_ids(store, doomed)
    assert points_of_series(store, series) == 1000

    dataset_entry = run(trash.move_to_trash(store, ana, "dataset", found.dataset.id))
    run_entry = run(trash.move_to_trash(store, ana, "run", doomed))
    would = run(trash.due(store, 0))  # `salon gc --dry-run`: nothing is removed yet
    assert {e.id for e in would.entries} == {dataset_entry.id, run_entry.id}
    assert dict(would.objects) == {"dataset": 1, "dataset_version": 2, "run": 1}
    assert would.points == 1000 and would.files == (files[2],)
    assert store.objects.exists(files[2]) and points_of_series(store, series) == 1000

    purged = run(trash.purge(store, ana, dataset_entry.id, recent=0))
    assert purged.files == (files[2],) and purged.file_bytes > 0
    assert not store.objects.exists(files[2]), "a file only the purged version used stays"
    assert store.objects.exists(files[1]), "a file another dataset uses was removed"
    with pytest.raises(NotFound):
        run(trash.restore(store, ana, dataset_entry.id))
    version("claims", "C-9,90\n")  # the name is free again: a new dataset, numbered from 1
    again = run(datasets.find(store, ana, "vision", "claims"))
    assert again.dataset.id != found.dataset.id
    assert [v.number for v in run(datasets.versions(store, again))] == [1]

    run(trash.purge(store, ana, run_entry.id, recent=0))
    assert points_of_series(store, series) == 0, "the purged run's points are still stored"
    assert point_rows(store, doomed) == 0 and series_ids(store, doomed) == []
    with pytest.raises(NotFound):
        run(runs.get_run(store, ana, doomed))


def test_two_maintainers_purging_at_once_one_purges_the_other_is_told(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    run(access.grant_role(store, ana, "vision", "user", "ben", "maintainer"))
    user = run(store.users.by_name("ben"))
    assert user is not None
    ben = run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
    doomed = start(store, ana, "baseline", "doomed")
    log_points(store, doomed, {"loss": [1.0, 2.0]})
    entry = run(trash.move_to_trash(store, ana, "run", doomed))

    async def both() -> list[Any]:
        return await asyncio.gather(
            trash.purge(store, ana, entry.id, recent=0),
            trash.purge(store, ben, entry.id, recent=0),
            return_exceptions=True,
        )

    outcomes = run(both())
    purged = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(purged) == 1 and [e.id for e in purged[0].entries] == [entry.id]
    assert len(refused) == 1 and isinstance(refused[0], NotFound), refused
    assert "restored or purged" in refused[0].message
    assert run(store.audit.verify()).ok


def test_the_hub_purges_only_what_stayed_longer_than_the_setting(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    entry = run(trash.move_to_trash(store, ana, "run", start(store, ana, "baseline", "old")))
    assert run(trash.purge_expired(store, 30)).entries == ()
    assert [e.id for e in run(trash.trash_of(store, ana))] == [entry.id]
    assert [e.id for e in run(trash.purge_expired(store, 0, recent=0)).entries] == [entry.id]
    assert run(trash.trash_of(store, ana)) == []


def test_a_trashed_project_hides_everything_in_it_and_a_purge_leaves_no_row(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    run_id = start(store, ana, "baseline", "inside")
    log_points(store, run_id, {"loss": [1.0]})
    run(runs.create_run(store, ana, runs.NewRun("other", "e", name="elsewhere")))
    project = run(projects.visible_project(store, ana, "vision"))
    entry = run(trash.move_to_trash(store, ana, "project", project.id))
    assert [p.name for p in run(projects.list_projects(store, ana))] == ["other"]
    with pytest.raises(NotFound):
        run(runs.get_run(store, ana, run_id))
    assert [e.id for e in run(trash.trash_of(store, ana))] == [entry.id]
    assert [e.id for e in run(trash.trash_of(store, team["ben"]))] == [entry.id]

    run(trash.purge(store, ana, entry.id, recent=0))
    tables = ("experiments", "runs", "memberships", "activity", "comments", "trash")
    left = store.db.read_sync(
        lambda cur: {
            table: cur.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = ?", [project.id]
            ).fetchone()[0]
            for table, column in [("projects", "id"), *((t, "project_id") for t in tables)]
        }
    )
    assert set(left.values()) == {0}, left
    assert [p.name for p in run(projects.list_projects(store, ana))] == ["other"]


def test_a_legal_hold_stops_purging_what_it_covers_until_released(
    store: Store, team: dict[str, Principal], tmp_path: Path
) -> None:
    ana, ben = team["ana"], team["ben"]
    officer = run(accounts.create_user(store, SYSTEM, "olga", None, is_compliance=True))
    olga = run(tokens.principal_for_user(store, officer, auth_method="session", auth_id=None))
    bens = start(store, ben, "baseline", "bens")
    anas = start(store, ana, "baseline", "anas")
    bens_entry = run(trash.move_to_trash(store, ana, "run", bens))
    anas_entry = run(trash.move_to_trash(store, ana, "run", anas))

    with pytest.raises(Forbidden, match="compliance officers"):
        run(holds.place(store, ben, "person", "ben", "matter 12"))
    with pytest.raises(InvalidInput, match="Say what the hold is for"):
        run(holds.place(store, olga, "person", "ben", "  "))
    with pytest.raises(InvalidInput, match="nobody called"):
        run(holds.place(store, olga, "person", "nobody", "matter 12"))
    hold = run(holds.place(store, olga, "person", "ben", "matter 12"))
    with pytest.raises(Conflict, match="already a legal hold on person ben"):
        run(holds.place(store, olga, "person", "ben", "again"))

    with pytest.raises(Conflict, match=r"legal hold on person ben \('matter 12', placed by olga"):
        run(trash.purge(store, ana, bens_entry.id, recent=0))
    due = run(trash.purge_expired(store, 0, recent=0))  # the hub's purge: held ones stay
    assert [e.id for e in due.entries] == [anas_entry.id]
    assert [(e.id, h.id) for e, h in due.held] == [(bens_entry.id, hold.id)]
    assert [e.id for e in run(trash.trash_of(store, ana))] == [bens_entry.id]

    project_hold = run(holds.place(store, olga, "project", "vision", "audit 2026"))
    run(holds.release(store, olga, hold.id))
    with pytest.raises(Conflict, match="legal hold on project vision"):
        run(trash.purge(store, ana, bens_entry.id, recent=0))
    run(holds.release(store, olga, project_hold.id))
    with pytest.raises(Conflict, match="released by olga already"):
        run(holds.release(store, olga, project_hold.id))
    run(trash.purge(store, ana, bens_entry.id, recent=0))
    assert run(holds.listed(store, olga)) == []
    assert len(run(holds.listed(store, olga, released=True))) == 2


def test_a_hold_on_a_dataset_in_the_trash_keeps_it_and_its_versions(
    store: Store, team: dict[str, Principal], tmp_path: Path
) -> None:
    ana = team["ana"]
    source = tmp_path / "claims.csv"
    source.write_text("customer_id,amount\nC-1,10\n")
    settings = Settings(data_dir=tmp_path)
    run(dataset_uploads.upload(store, settings, ana, "vision", "claims", source, source.name))
    found = run(datasets.find(store, ana, "vision", "claims"))
    version = run(datasets.versions(store, found))[0]
    version_entry = run(trash.move_to_trash(store, ana, "dataset_version", version.id))
    with pytest.raises(Conflict, match="already in the trash"):
        run(trash.move_to_trash(store, ana, "dataset_version", version.id))
    entry = run(trash.move_to_trash(store, ana, "dataset", found.dataset.id))
    run(holds.place(store, SYSTEM, "dataset", "claims", "subject request 7", project="vision"))
    for held in (entry, version_entry):
        with pytest.raises(Conflict, match="legal hold on dataset vision/claims"):
            run(trash.purge(store, ana, held.id, recent=0))


def test_wiki_pages_and_tasks_go_to_the_trash_and_come_back(
    store: Store, team: dict[str, Principal]
) -> None:
    ana, ben = team["ana"], team["ben"]
    page = run(pages.save(store, ben, "vision", "decisions", "Decisions", "We keep lr 3e-4."))
    task = run(tasks.create(store, ana, "vision", tasks.TaskInput(title="Label line C")))
    bens_page = run(trash.move_to_trash(store, ben, "page", page.id))  # an editor: their own
    assert bens_page.label == "decisions"
    assert run(pages.of_project(store, ana, "vision")) == []
    with pytest.raises(Conflict, match="'decisions' is in the trash"):
        run(pages.save(store, ben, "vision", "decisions", "Decisions", "again"))
    with pytest.raises(Forbidden, match="needs maintainer"):  # not ben's task
        run(trash.move_to_trash(store, ben, "task", task.id))
    entry = run(trash.move_to_trash(store, ana, "task", task.id))
    assert entry.label == "#1 Label line C"
    assert run(tasks.board(store, ana, "vision")) == []
    for restored in (bens_page, entry):
        run(trash.restore(store, ana, restored.id))
    assert [p.slug for p in run(pages.of_project(store, ana, "vision"))] == ["decisions"]
    assert [t.title for t in run(tasks.board(store, ana, "vision"))] == ["Label line C"]


def artifact(store: Store, who: Principal, run_id: str, path: str, body: bytes) -> None:
    async def receive(scratch: Path) -> None:
        scratch.write_bytes(body)

    run(artifacts.upload(store, who, "run", run_id, path, receive))


def files_of(store: Store, who: Principal, run_id: str) -> list[str]:
    return [a.path for a in run(artifacts.every_file(store, who, "run", run_id))]


def test_one_file_of_a_run_goes_to_the_trash_comes_back_and_is_purged_alone(
    store: Store, team: dict[str, Principal]
) -> None:
    ana, ben = team["ana"], team["ben"]
    mine = start(store, ben, "baseline", "bens")
    artifact(store, ben, mine, "plots/loss.png", b"loss curve")
    artifact(store, ben, mine, "model.pkl", b"weights")
    artifact(store, ben, mine, "copy.pkl", b"weights")  # the same bytes: one object
    with pytest.raises(NotFound):
        run(trash.move_to_trash(store, ben, "artifact", f"{mine}/nothing-here"))

    entry = run(trash.move_to_trash(store, ben, "artifact", f"{mine}/plots/loss.png"))
    assert entry.label == "bens: plots/loss.png" and entry.holds == (("artifact", 1),)
    assert files_of(store, ana, mine) == ["copy.pkl", "model.pkl"]
    with pytest.raises(NotFound, match="No artifact"):
        run(artifacts.open_file(store, ana, "run", mine, "plots/loss.png"))
    run(trash.restore(store, ben, entry.id))
    assert files_of(store, ana, mine) == ["copy.pkl", "model.pkl", "plots/loss.png"]

    # Logging over a trashed file puts the new one in its place and takes it out of the trash.
    entry = run(trash.move_to_trash(store, ben, "artifact", f"{mine}/plots/loss.png"))
    artifact(store, ben, mine, "plots/loss.png", b"a better curve")
    assert files_of(store, ana, mine) == ["copy.pkl", "model.pkl", "plots/loss.png"]
    with pytest.raises(NotFound):
        run(trash.restore(store, ben, entry.id))

    model = run(artifacts.open_file(store, ana, "run", mine, "model.pkl"))[0]
    weights = run(trash.move_to_trash(store, ben, "artifact", f"{mine}/model.pkl"))
    kept = run(trash.purge(store, ana, weights.id, recent=0))
    assert kept.files == () and store.objects.exists(model.digest, ""), "copy.pkl's bytes went"
    copy = run(trash.move_to_trash(store, ben, "artifact", f"{mine}/copy.pkl"))
    gone = run(trash.purge(store, ana, copy.id, recent=0))
    assert gone.files == (model.digest,) and not store.objects.exists(model.digest, "")
    assert files_of(store, ana, mine) == ["plots/loss.png"]


def test_purging_a_run_takes_its_files_trashed_before_it(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    doomed = start(store, ana, "baseline", "doomed")
    artifact(store, ana, doomed, "a.txt", b"a")
    file_entry = run(trash.move_to_trash(store, ana, "artifact", f"{doomed}/a.txt"))
    run_entry = run(trash.move_to_trash(store, ana, "run", doomed))
    with pytest.raises(Conflict, match="run doomed, which is in the trash too"):
        run(trash.restore(store, ana, file_entry.id))
    purged = run(trash.purge(store, ana, run_entry.id, recent=0))
    assert {e.id for e in purged.entries} == {run_entry.id, file_entry.id}
    assert run(trash.trash_of(store, ana)) == []


def test_a_logged_model_goes_to_the_trash_and_a_purge_takes_its_files_and_metrics(
    store: Store, team: dict[str, Principal]
) -> None:
    ana = team["ana"]
    run_id = start(store, ana, "baseline", "trainer")
    vision = run(projects.visible_project(store, ana, "vision"))
    experiment = next(
        e for e in run(projects.experiments(store, ana, vision)) if e.name == "baseline"
    )
    model = run(logged_models.create(store, ana, experiment, run_id, "net", "", {}, {}))

    async def receive(scratch: Path) -> None:
        scratch.write_bytes(b"weights of net")

    stored = run(artifacts.upload(store, ana, "logged_model", model.id, "model.pkl", receive))
    run(
        logged_models.log_metrics(
            store, ana, [LoggedModelMetric(model.id, run_id, "accuracy", 0.9, 1, 1)]
        )
    )
    entry = run(trash.move_to_trash(store, ana, "logged_model", model.id))
    with pytest.raises(NotFound):
        run(logged_models.get(store, ana, model.id))
    run(trash.restore(store, ana, entry.id))
    assert run(logged_models.get(store, ana, model.id)).name == "net"
    entry = run(trash.move_to_trash(store, ana, "logged_model", model.id))
    purged = run(trash.purge(store, ana, entry.id, recent=0))
    assert purged.files == (stored.digest,) and not store.objects.exists(stored.digest, "")
    left = store.db.read_sync(
        lambda cur: cur.execute(
            "SELECT (SELECT count(*) FROM logged_models), (SELECT count(*) FROM "
            "logged_model_metrics), (SELECT count(*) FROM artifacts WHERE owner_kind = "
            "'logged_model')"
        ).fetchone()
    )
    assert left == (0, 0, 0)
