"""Hubs sharing one PostgreSQL database: one audit chain, each sees what the others wrote, and a
database that is not there is a clear message."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from bench.postgres import PostgresCluster
from hub.auth.keys import KeyRing
from hub.errors import Conflict, StoreUnavailable
from hub.services.identity.tokens import ADMIN_NAME, ensure_admin_token_sync, hash_token
from hub.services.policy.audit_trail import write_checkpoint
from hub.services.policy.keep import FolderKeep
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import metrics, runs
from hub.settings import SettingsError, load_settings
from hub.store import Store, open_store
from hub.store.backends import Shared, backend_for, committed
from hub.store.database import Committed, Cursor
from hub.store.metric_ingest import ingest_batch
from tests.conftest import free_port, shared_database
from tests.store.helpers import history_table, log_points, points


def shared_objects(folder: Path) -> str:
    """The object store every hub of a test shares (their metric points are there)."""
    return str(folder / "objects")


def hubs_on(url: str, folder: Path, count: int) -> list[Store]:
    """``count`` hubs' stores on the database at ``url``, each with a data folder of its own
    under ``folder`` and the object store they share."""
    return [
        open_store(Shared(url), data_dir=folder / str(i), object_store=shared_objects(folder))
        for i in range(count)
    ]


def at_once(works: Iterable[Callable[[], None]]) -> None:
    """Every one of ``works`` at the same time, each in a thread of its own."""
    threads = [threading.Thread(target=work) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def each_at_once(hubs: list[Store], work: Callable[[int, Store], None]) -> None:
    """``work(index, hub)`` for every hub at the same time."""
    at_once(functools.partial(work, index, hub) for index, hub in enumerate(hubs))


def test_two_hubs_writing_at_once_keep_one_chain_and_see_each_other(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    hubs = hubs_on(url, tmp_path, 2)
    made: dict[int, list[str]] = {0: [], 1: []}

    def write(index: int, store: Store) -> None:
        async def work() -> None:
            for number in range(15):
                new = runs.NewRun("shared", f"hub-{index}", name=f"{index}-{number}")
                run = await runs.create_run(store, SYSTEM, new)
                await runs.set_notes(store, SYSTEM, run.id, f"from hub {index}")
                made[index].append(run.id)

        asyncio.run(work())

    try:
        each_at_once(hubs, write)
        for store in hubs:  # each hub reads every run, whoever wrote it
            seen = asyncio.run(runs.get_runs(store, SYSTEM, made[0] + made[1]))
            assert len(seen) == 30
            assert {run.notes for run in seen} == {"from hub 0", "from hub 1"}
        report = asyncio.run(hubs[0].audit.verify())
        assert report.ok, report
        assert hubs[1].audit.head == hubs[0].audit.head == (report.head_seq, report.head_hash)
        # project, two experiments, 30 runs made and noted, 60 reads: one chain, no gaps
        assert report.checked == report.head_seq >= 1 + 2 + 30 * 2 + 2
    finally:
        for store in hubs:
            store.close()


def test_a_database_that_does_not_answer_is_named_in_one_message(tmp_path: Path) -> None:
    url = f"postgresql://salon:secret@127.0.0.1:{free_port()}/salon"
    with pytest.raises(StoreUnavailable) as caught:
        open_store(Shared(url), data_dir=tmp_path)
    message = caught.value.message
    assert "SALON_DATABASE_URL" in message and "secret" not in message, message
    assert "postgresql://salon:***@127.0.0.1" in message


def test_a_write_cut_off_by_the_database_going_away_leaves_the_thread_able_to_work(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A write whose connection dies cannot be rolled back; the cursor it ran on must not stay
    in the aborted transaction, or every later request on that worker thread fails."""
    cluster = PostgresCluster(tmp_path_factory.mktemp("going-away"))
    try:
        store = open_store(Shared(shared_database(cluster.address)), data_dir=tmp_path)
        run = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e", name="r")))

        def cut_off(cur: Cursor) -> None:
            cur.execute("UPDATE runs SET notes = 'lost'")
            cluster.stop()  # in the middle of the transaction
            cur.execute("SELECT count(*) FROM runs").fetchall()

        with pytest.raises(StoreUnavailable):
            store.db.write_sync(cut_off)
        with pytest.raises(StoreUnavailable):
            store.db.read_sync(lambda cur: cur.execute("SELECT count(*) FROM runs").fetchall())
        cluster.start()  # the same thread (this one) writes and reads again
        store.db.write_sync(lambda cur: cur.execute("UPDATE runs SET notes = 'back'"))
        notes = store.db.read_sync(lambda cur: cur.execute("SELECT notes FROM runs").fetchall())
        assert notes == [("back",)] and run.id
        store.close()
    finally:
        cluster.stop()


def test_a_transaction_whose_start_fails_is_rolled_back(tmp_path: Path) -> None:
    """The hubs' lock is taken after BEGIN; if taking it fails (the database went away), the
    transaction must still be rolled back, or the thread's cursor stays in it, aborted."""
    cursor = duckdb.connect(str(tmp_path / "plain.duckdb"))

    def begin_then_fail(cur: Cursor) -> None:
        cur.execute("BEGIN TRANSACTION")
        cur.execute("SELECT error('the lock could not be taken')")

    with (
        pytest.raises(duckdb.Error, match="lock could not be taken"),
        committed(cursor, begin_then_fail),
    ):
        pass
    assert cursor.execute("SELECT 42").fetchone() == (42,)


def test_only_a_postgresql_url_is_taken(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SALON_DATABASE_URL", "mysql://salon:hunter2@db/salon")
    with pytest.raises(SettingsError, match="SALON_DATABASE_URL") as caught:
        load_settings(None)
    assert "postgresql://" in str(caught.value) and "hunter2" not in str(caught.value)
    assert isinstance(backend_for("", tmp_path), type(backend_for(None, tmp_path)))
    assert backend_for("", tmp_path).describe() == str(tmp_path / "salon.duckdb")


def test_one_hub_at_a_time_holds_a_lease_and_another_takes_over_when_it_lapses(
    store: Store,
) -> None:
    at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    later = at + timedelta(seconds=30)

    def take(holder: str, when: datetime) -> bool:
        return asyncio.run(store.leases.take("digests", holder, when, when + timedelta(seconds=30)))

    assert take("hub-a", at)
    assert not take("hub-b", at + timedelta(seconds=10)), "a's lease still runs"
    assert take("hub-a", at + timedelta(seconds=20)), "its holder renews it"
    assert not take("hub-b", later), "renewed: it runs until 20 s + 30 s"
    assert take("hub-b", later + timedelta(seconds=21)), "a stopped renewing: b takes over"
    asyncio.run(store.leases.release("digests", "hub-a"))  # not a's any more: nothing happens
    assert not take("hub-a", later + timedelta(seconds=22))
    asyncio.run(store.leases.release("digests", "hub-b"))
    assert take("hub-a", later + timedelta(seconds=23)), "released: taken at once"
    assert list(asyncio.run(store.leases.holders())) == ["digests"]


def test_a_lease_is_held_by_exactly_one_of_many_hubs_asking_at_once(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    hubs = hubs_on(url, tmp_path, 3)
    at = datetime.now(UTC)
    won: list[str] = []

    def ask(index: int, store: Store) -> None:
        until = at + timedelta(minutes=1)
        for _ in range(5):
            if asyncio.run(store.leases.take("webhooks", f"hub-{index}", at, until)):
                won.append(f"hub-{index}")

    try:
        each_at_once(hubs, ask)
    finally:
        for store in hubs:
            store.close()
    assert len(set(won)) == 1 and len(won) == 5, won


def test_salon_db_copy_moves_a_file_store_into_postgresql_whole(
    postgres_cluster: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    original = open_store(data / "salon.duckdb")
    try:
        made = asyncio.run(
            runs.create_run(original, SYSTEM, runs.NewRun("vision", "resnet", params={"lr": "0.1"}))
        )
        log_points(original, made.id, {"loss": [1.0, 0.5, 0.25]})
        notes = tmp_path / "notes.txt"
        notes.write_bytes(b"what the run wrote down")
        kept, _ = original.objects.put(notes, "")  # an artifact's file
        keys = KeyRing(FolderKeep(data))  # what the embedded hub signed its tokens with
        write_checkpoint(original, keys.keep, keys.sign_bytes)
        head = original.audit.head
    finally:
        original.close()
    url = shared_database(postgres_cluster)

    def salon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **shared, **(env or {})},
        )

    shared = {"SALON_DATA_DIR": str(data), "SALON_OBJECT_STORE": shared_objects(tmp_path)}
    done = salon("db", "copy", "--to", url)
    assert done.returncode == 0, done.stderr
    assert "runs" in done.stdout and f"ends at event {head[0]}" in done.stdout, done.stdout
    assert "1 stored files" in done.stdout, done.stdout
    copy = open_store(Shared(url), data_dir=tmp_path / "hub", object_store=shared_objects(tmp_path))
    try:
        (run,) = asyncio.run(runs.get_runs(copy, SYSTEM, [made.id]))
        assert (run.name, run.project_id) == (made.name, made.project_id)
        assert history_table(copy, [made.id]).column("value").to_pylist() == [1.0, 0.5, 0.25]
        report = asyncio.run(copy.audit.verify())
        assert report.ok and report.checked >= head[0], report
        assert KeyRing(copy.secrets, create=False).kids == keys.kids, "tokens stay good"
        assert b"".join(copy.objects.chunks(kept, "")) == b"what the run wrote down"
    finally:
        copy.close()
    verified = salon("audit", "verify", "--json", env={"SALON_DATABASE_URL": url})
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["checkpoint"], "the signed checkpoint came along"
    again = salon("db", "copy", "--to", url)
    assert again.returncode == 1 and "already holds a Salon" in again.stderr, again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_a_hub_passes_on_what_the_others_committed_in_order_and_once(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    one, other = hubs_on(url, tmp_path, 2)
    heard: list[Committed] = []
    other.db.listeners.append(heard.append)
    try:
        made = [
            asyncio.run(runs.create_run(one, SYSTEM, runs.NewRun("shared", "e", name=f"r{i}")))
            for i in range(3)
        ]
        asyncio.run(runs.set_notes(other, SYSTEM, made[0].id, "its own change"))
        assert [e.action for c in heard for e in c.trail] == ["run.set_notes"], "told at once"
        heard.clear()
        passed = asyncio.run(other.catch_up())
        assert passed == len(heard) >= 3
        actions = [e.action for c in heard for e in c.trail]
        assert "run.set_notes" not in actions, "its own change is not passed on again"
        created = [e.object_id for c in heard for e in c.trail if e.action == "run.create"]
        assert created == [run.id for run in made], actions
        assert asyncio.run(other.catch_up()) == 0, "each change is passed on once"
        asyncio.run(one.forget_commits(datetime.now(UTC) + timedelta(seconds=1)))
        asyncio.run(runs.create_run(one, SYSTEM, runs.NewRun("shared", "e", name="after")))
        assert asyncio.run(other.catch_up()) == 1, "numbering goes on after a prune"
    finally:
        one.close()
        other.close()


def test_conflicting_writes_through_different_hubs_have_exactly_one_winner(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    hubs = hubs_on(url, tmp_path, 3)
    run = asyncio.run(runs.create_run(hubs[0], SYSTEM, runs.NewRun("shared", "e")))
    outcome: dict[int, str] = {}

    def set_rate(index: int, store: Store) -> None:
        try:  # a param is written once: the same key with another value is a conflict
            asyncio.run(runs.log_params(store, SYSTEM, run.id, {"lr": f"0.{index + 1}"}))
            outcome[index] = "stored"
        except Conflict:
            outcome[index] = "conflict"

    try:
        each_at_once(hubs, set_rate)
        (winner,) = [i for i, said in outcome.items() if said == "stored"]
        assert sorted(outcome.values()) == ["conflict", "conflict", "stored"]
        found = asyncio.run(runs.details(hubs[2], SYSTEM, [run])).params[run.id]
        assert [(p.key, p.value) for p in found] == [("lr", f"0.{winner + 1}")]
    finally:
        for store in hubs:
            store.close()


def test_hubs_starting_together_on_a_new_database_migrate_it_once(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    opened: list[Store] = []
    failed: list[BaseException] = []

    def start(index: int) -> None:
        try:
            opened.append(
                open_store(
                    Shared(url),
                    data_dir=tmp_path / str(index),
                    object_store=shared_objects(tmp_path),
                )
            )
        except BaseException as exc:  # reported below, with the others
            failed.append(exc)

    at_once(functools.partial(start, index) for index in range(3))
    try:
        assert not failed, failed
        versions = asyncio.run(
            opened[0].db.read(
                lambda cur: cur.execute(
                    "SELECT version FROM schema_migrations ORDER BY version"
                ).fetchall()
            )
        )
        assert [v for (v,) in versions] == sorted({v for (v,) in versions}), "each applied once"
        assert versions[-1][0] == opened[0].schema_version
    finally:
        for store in opened:
            store.close()


def test_metric_points_are_parquet_in_the_object_store_and_a_retried_batch_is_stored_once(
    postgres_cluster: str, tmp_path: Path
) -> None:
    """On the shared backend points live in a DuckLake: Parquet files under the object store,
    its catalog in PostgreSQL, no points table in PostgreSQL. A batch whose points reached
    the lake but whose record did not (the hub died in between) is stored once when the
    client sends it again."""
    url = shared_database(postgres_cluster)
    store = open_store(
        Shared(url), data_dir=tmp_path / "hub", object_store=shared_objects(tmp_path)
    )
    try:
        run = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e")))
        log_points(store, run.id, {"loss": [float(v) for v in range(5000)]})
        files = list((tmp_path / "objects" / "points").rglob("*.parquet"))
        assert files, "the points are Parquet files in the object store"
        left = store.db.read_sync(
            lambda cur: cur.execute(
                "SELECT * FROM postgres_query('salon', "
                "'SELECT to_regclass(''public.metrics'') IS NULL')"
            ).fetchone()
        )
        assert left == (True,), "PostgreSQL holds no points table"

        batch = points({"acc": [0.5, 0.6, 0.7]})

        def lake_only(cur: Cursor, table: pa.Table, batch_id: str | None) -> None:
            store.db.put_points(cur, table, batch_id)
            raise RuntimeError("the hub died before the batch's record was committed")

        with pytest.raises(RuntimeError):
            store.db.audited_write_sync([], ingest_batch, lake_only, run.id, "b-1", batch)
        assert asyncio.run(metrics.ingest_table(store, SYSTEM, run.id, "b-1", batch)) == 3
        assert asyncio.run(metrics.ingest_table(store, SYSTEM, run.id, "b-1", batch)) == 0
        history = history_table(store, [run.id], ["acc"])
        assert history.column("value").to_pylist() == [0.5, 0.6, 0.7], "stored once"

        for start in range(5000, 10_000, 1000):  # more requests, more small files
            log_points(store, run.id, {"loss": [1.0] * 1000}, start_step=start)
        folder = tmp_path / "objects" / "points"
        before = len(list(folder.rglob("*.parquet")))
        asyncio.run(store.compact_points(datetime.now(UTC) + timedelta(seconds=1)))
        after = len(list(folder.rglob("*.parquet")))
        assert after < before, (before, after)
        assert history_table(store, [run.id], ["loss"]).num_rows == 10_000
        small = history_table(store, [run.id], ["acc"])  # kept in the catalog, then written out
        assert small.column("value").to_pylist() == [0.5, 0.6, 0.7]
    finally:
        store.close()


def test_hubs_starting_together_with_one_admin_token_make_one_admin_and_one_token(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    hubs = hubs_on(url, tmp_path, 3)
    secret = "salon-admin-token-for-every-hub-0123456789"
    failed: list[BaseException] = []

    def start(index: int, store: Store) -> None:
        try:
            ensure_admin_token_sync(store, "bootstrap (SALON_ADMIN_TOKEN)", secret)
        except BaseException as exc:  # reported below
            failed.append(exc)

    try:
        for _ in range(3):  # three rounds: the race is not won the same way each time
            each_at_once(hubs, start)
        assert not failed, failed
        admins = [u for u in asyncio.run(hubs[0].users.all()) if u.name == ADMIN_NAME]
        tokens = hubs[0].db.read_sync(
            lambda cur: cur.execute(
                "SELECT count(*) FROM api_tokens WHERE token_hash = ?", [hash_token(secret)]
            ).fetchone()
        )
    finally:
        for store in hubs:
            store.close()
    assert len(admins) == 1 and tokens == (1,), (admins, tokens)


def test_a_backup_of_the_shared_backend_is_a_store_file_with_its_points(
    postgres_cluster: str, tmp_path: Path
) -> None:
    """`salon backup` of hubs sharing PostgreSQL writes one DuckDB file: every table, and the
    metric points from the DuckLake, so that it opens as an embedded store."""
    (store,) = hubs_on(shared_database(postgres_cluster), tmp_path, 1)
    try:
        run = asyncio.run(runs.create_run(store, SYSTEM, runs.NewRun("p", "e")))
        log_points(store, run.id, {"loss": [0.9, 0.5, 0.2]})
        (tmp_path / "backup").mkdir()
        asyncio.run(store.copy_database(tmp_path / "backup" / "salon.duckdb"))
    finally:
        store.close()
    restored = open_store(tmp_path / "backup" / "salon.duckdb")
    try:
        assert history_table(restored, [run.id]).column("value").to_pylist() == [0.9, 0.5, 0.2]
        assert asyncio.run(restored.audit.verify()).ok
    finally:
        restored.close()


def test_a_hub_with_another_object_store_refuses_to_start_naming_both(
    postgres_cluster: str, tmp_path: Path
) -> None:
    url = shared_database(postgres_cluster)
    (first,) = hubs_on(url, tmp_path, 1)
    first.close()
    with pytest.raises(StoreUnavailable) as refused:
        open_store(Shared(url), data_dir=tmp_path / "b", object_store=str(tmp_path / "elsewhere"))
    said = refused.value.message
    assert "give every hub the same SALON_OBJECT_STORE" in said, said
    assert str(tmp_path / "objects" / "points") in said and "elsewhere" in said, said
