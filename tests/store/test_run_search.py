"""Run search on a real DuckDB file: filters, sorting, paging and injection attempts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hub.domain.tracking import RunPage
from hub.errors import Conflict, FilterSyntaxError, InvalidInput, LimitExceeded
from hub.run_filter import Filter, parse_filter
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.store import Store, open_store
from tests.store.helpers import log_points


def make_runs(store: Store) -> dict[str, str]:
    """Six runs across two experiments; returns name → id."""
    specs = [
        ("a", "sweep", "0.01", "vision", 0.91),
        ("b", "sweep", "0.01", "vision", 0.75),
        ("c", "sweep", "0.1", "vision", 0.85),
        ("d", "base", "0.001", "nlp", 0.95),
        ("e", "base", "10", "nlp", 0.50),
        ("it's", "base", "9", "o'brien", 0.60),
    ]
    ids = {}
    for name, experiment, lr, team, acc in specs:
        run = asyncio.run(
            runs.create_run(
                store,
                SYSTEM,
                runs.NewRun(
                    project="p",
                    experiment=experiment,
                    name=name,
                    params={"lr": lr},
                    tags={"team": team},
                ),
            )
        )
        log_points(store, run.id, {"val_acc": [acc * 0.5, acc]})
        ids[name] = run.id
    return ids


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, str]]:
    store = open_store(Path(tmp_path_factory.mktemp("search")) / "salon.duckdb")
    ids = make_runs(store)
    yield store, ids  # type: ignore[misc]
    store.close()


def names(store: Store, filter_text: str | None, order: list[str] | None = None) -> list[str]:
    page = asyncio.run(runs.search_runs(store, SYSTEM, "p", filter_text, order, 100, None, 500))
    return [run.name for run in page.runs]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("metrics.val_acc > 0.8 and params.lr = '0.01' and tags.team = 'vision'", ["a"]),
        ("metrics.val_acc >= 0.85", ["a", "c", "d"]),
        ("params.lr > 1", ["e", "it's"]),  # compared as numbers: 9 and 10
        ("params.lr = '10'", ["e"]),
        ("experiment = 'base' and not metrics.val_acc < 0.9", ["d"]),
        ("name in ('a', 'd')", ["a", "d"]),
        ("name like 'it%'", ["it's"]),
        ("tags.team = 'o\\'brien'", ["it's"]),
        ("metrics.missing is null and name = 'a'", ["a"]),
        ("metrics.missing > 0", []),
        ("status = 'running'", ["a", "b", "c", "d", "e", "it's"]),
        ("started_at > '2000-01-01'", ["a", "b", "c", "d", "e", "it's"]),
    ],
)
def test_filters(
    searched: tuple[Store, dict[str, str]], filter_text: str, expected: list[str]
) -> None:
    store, _ = searched
    assert sorted(names(store, filter_text)) == sorted(expected)


@pytest.mark.parametrize(
    "attack",
    [
        "name = 'x' or 1=1",
        "name = 'x'' OR ''1''=''1'",
        "params.`lr' OR 1=1 --` = '1'",
        "tags.`x) OR (1=1` = 'y'",
        "name = '\\'; DROP TABLE runs; --'",
        'metrics.`val_acc" OR "1"="1` > 0',
    ],
)
def test_injection_attempts_match_nothing_and_harm_nothing(
    searched: tuple[Store, dict[str, str]], attack: str
) -> None:
    store, _ = searched
    try:
        found = names(store, attack)
    except FilterSyntaxError:
        found = []  # refusing to parse is just as safe
    assert found == []
    assert len(names(store, None)) == 6, "the runs table must be intact"


def test_sorting_numbers_as_numbers_and_missing_last(
    searched: tuple[Store, dict[str, str]],
) -> None:
    store, _ = searched
    assert names(store, None, ["metrics.val_acc desc"]) == ["d", "a", "c", "b", "it's", "e"]
    assert names(store, None, ["params.lr asc"]) == ["d", "a", "b", "c", "it's", "e"]
    assert names(store, None, ["name"]) == ["a", "b", "c", "d", "e", "it's"]


def test_every_page_counts_the_matches_even_an_empty_one(
    searched: tuple[Store, dict[str, str]],
) -> None:
    """The count rides on the page's rows; a page without rows (asked for none, past the end,
    or nothing matching) counts on its own."""
    store, _ = searched
    project = asyncio.run(store.projects.by_name("p"))
    assert project is not None
    lr = parse_filter("params.lr = '0.01'")

    def page(where: Filter | None, limit: int, offset: int) -> RunPage:
        return asyncio.run(store.runs.search([project.id], where, [], limit, offset))

    assert (page(lr, 1, 0).total, len(page(lr, 1, 0).runs)) == (2, 1)
    assert (page(lr, 0, 0).total, page(lr, 0, 0).runs) == (2, [])
    assert (page(lr, 5, 7).total, page(lr, 5, 7).runs) == (2, [])
    assert page(parse_filter("params.lr = '42'"), 5, 0).total == 0
    assert page(None, 5, 7).snapshot == page(None, 5, 0).snapshot is not None


def test_cursor_pages_cover_everything_once(searched: tuple[Store, dict[str, str]]) -> None:
    store, ids = searched
    seen: list[str] = []
    after = None
    while True:
        page = asyncio.run(runs.search_runs(store, SYSTEM, "p", None, ["name"], 4, after, 500))
        assert page.total == 6
        seen.extend(run.id for run in page.runs)
        after = page.next_cursor
        if after is None:
            break
    assert sorted(seen) == sorted(ids.values())
    with pytest.raises(InvalidInput, match="different filter"):
        asyncio.run(
            runs.search_runs(store, SYSTEM, "p", "name = 'a'", None, 4, page_cursor(store), 500)
        )
    with pytest.raises(InvalidInput, match="not one this hub gave out"):
        asyncio.run(runs.search_runs(store, SYSTEM, "p", None, None, 4, "garbage!", 500))


def page_cursor(store: Store) -> str:
    page = asyncio.run(runs.search_runs(store, SYSTEM, "p", None, ["name"], 2, None, 500))
    assert page.next_cursor is not None
    return page.next_cursor


def test_page_size_is_capped(searched: tuple[Store, dict[str, str]]) -> None:
    store, _ = searched
    with pytest.raises(LimitExceeded, match="between 0 and 500"):
        asyncio.run(runs.search_runs(store, SYSTEM, "p", None, None, 501, None, 500))


def test_params_are_immutable_tags_are_not(store: Store) -> None:
    run = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e", params={"lr": "0.1"})))
    asyncio.run(runs.log_params(store, SYSTEM, run.id, {"lr": "0.1", "bs": "32"}))
    with pytest.raises(Conflict, match="immutable"):
        asyncio.run(runs.log_params(store, SYSTEM, run.id, {"lr": "0.2"}))
    asyncio.run(runs.set_tags(store, SYSTEM, run.id, {"stage": "a"}))
    asyncio.run(runs.set_tags(store, SYSTEM, run.id, {"stage": "b"}))
    params = asyncio.run(store.runs.params_for([run.id]))
    tags = asyncio.run(store.runs.tags_for([run.id]))
    assert {(p.key, p.value) for p in params} == {("lr", "0.1"), ("bs", "32")}
    assert [(t.key, t.value) for t in tags] == [("stage", "b")]


def test_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "salon.duckdb"
    first = open_store(path)
    run = asyncio.run(runs.create_run(first, SYSTEM, runs.NewRun("p", "e", name="kept")))
    first.close()
    second = open_store(path)  # the schema applies twice without harm
    try:
        assert asyncio.run(runs.get_run(second, SYSTEM, run.id)).name == "kept"
    finally:
        second.close()


def test_runs_created_while_paging_do_not_shift_the_pages(store: Store) -> None:
    def start(name: str) -> str:
        return asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e", name=name))).id

    original = {start(f"r{i}") for i in range(10)}
    seen: list[str] = []
    after = None
    while True:  # newest first: new runs would land on page one and push the rest down
        page = asyncio.run(runs.search_runs(store, SYSTEM, "p", None, None, 3, after, 500))
        assert page.total == 10
        seen.extend(run.id for run in page.runs)
        start(f"late-{len(seen)}")
        after = page.next_cursor
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 10 and set(seen) == original


def test_the_details_of_many_runs_are_theirs_and_nothing_else(store: Store) -> None:
    """Params, tags and metric summaries of a page of runs (asked by a list of ids, one
    parameter on a DuckDB file, one parameter per id on PostgreSQL) are exactly those runs',
    in order of run and key."""
    made = []
    for index in range(12):
        new = runs.NewRun("p", "e", params={"lr": str(index), "bs": "32"}, tags={"i": str(index)})
        run = asyncio.run(runs.create_run(store, SYSTEM, new))
        log_points(store, run.id, {"loss": [1.0, 1.0 / (index + 1)], "acc": [float(index)]})
        made.append(run.id)
    asked = [*made[::2], "no-such-run"]
    params = asyncio.run(store.runs.params_for(asked))
    tags = asyncio.run(store.runs.tags_for(asked))
    summaries = asyncio.run(store.metrics.summaries(asked))
    wanted = sorted(made[::2])
    assert [(p.run_id, p.key) for p in params] == [(i, k) for i in wanted for k in ("bs", "lr")]
    assert [(t.run_id, t.value) for t in tags] == [(i, str(made.index(i))) for i in wanted]
    assert [(s.run_id, s.key) for s in summaries] == [
        (i, k) for i in wanted for k in ("acc", "loss")
    ]
    assert {s.run_id: s.last_value for s in summaries if s.key == "loss"} == {
        i: 1.0 / (made.index(i) + 1) for i in wanted
    }
    assert asyncio.run(store.runs.params_for([])) == []
