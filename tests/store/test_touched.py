"""Which tables a statement changes and a read reads (hub/store/touched.py): a change must drop
every kept answer read from a table it changed, so whatever cannot be told counts as
everything."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hub.store.touched import EVERYTHING, Catalog, Recording, changed_by


@pytest.mark.parametrize(
    ("sql", "changed"),
    [
        ("INSERT INTO comments (id, body) VALUES (?, ?)", {"comments"}),
        ("insert or replace into Runs SELECT * FROM staged", {"runs"}),
        (
            'UPDATE main."runs" SET name = ? FROM projects WHERE projects.id = runs.project_id',
            {"runs"},
        ),
        ("DELETE FROM tags USING runs WHERE tags.run_id = runs.id", {"tags"}),
        (
            "INSERT INTO metric_summaries VALUES (?) ON CONFLICT DO UPDATE SET n = excluded.n",
            {"metric_summaries"},
        ),
        ("  SELECT * FROM runs WHERE id = ?", set()),
        ("WITH r AS (SELECT * FROM runs) SELECT * FROM r", set()),
        ("FROM runs SELECT id", set()),
    ],
)
def test_a_statement_changes_its_target_and_a_select_nothing(sql: str, changed: set[str]) -> None:
    assert changed_by(sql) == frozenset(changed)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE runs_copy AS SELECT * FROM runs",
        "ALTER TABLE runs ADD COLUMN x INT",
        "DROP TABLE runs",
        "COPY runs FROM 'runs.csv'",
        "CHECKPOINT",
        "CALL ducklake_merge_adjacent_files('lake')",
        "INSERT INTO a VALUES (1); DELETE FROM runs",
        "WITH gone AS (DELETE FROM runs RETURNING id) SELECT * FROM gone",
        "SELECT 1; UPDATE runs SET name = 'x'",
    ],
)
def test_what_cannot_be_told_changes_everything(sql: str) -> None:
    assert changed_by(sql) is EVERYTHING


@pytest.fixture
def cursor(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "t.duckdb"))
    connection.execute("CREATE TABLE runs (id INT, name TEXT)")
    connection.execute("CREATE TABLE comments (id INT, body TEXT)")
    connection.execute("CREATE VIEW named AS SELECT * FROM runs")
    return connection


def test_a_recording_notes_what_its_statements_read_and_changed(
    cursor: duckdb.DuckDBPyConnection,
) -> None:
    recording = Recording(cursor, Catalog.of(cursor))
    assert recording.execute("INSERT INTO runs VALUES (1, 'a')") is recording
    assert recording.execute("SELECT name FROM runs WHERE id = ?", [1]).fetchall() == [("a",)]
    assert (recording.read, recording.changed) == ({"runs"}, {"runs"})
    recording.executemany("INSERT INTO comments VALUES (?, ?)", [[1, "x"], [2, "y"]])
    assert recording.changed == {"runs", "comments"}
    # Through a view, a read reads tables its name does not say.
    assert recording.execute("SELECT * FROM named").fetchall() == [(1, "a")]
    assert recording.read is EVERYTHING


def test_any_other_call_on_a_recording_counts_as_everything(
    cursor: duckdb.DuckDBPyConnection,
) -> None:
    recording = Recording(cursor, Catalog.of(cursor))
    recording.execute("SELECT count(*) FROM comments").fetchone()
    assert recording.changed == frozenset()
    recording.sql("INSERT INTO comments VALUES (3, 'z')")
    assert (recording.read, recording.changed) == (EVERYTHING, EVERYTHING)
    # Said by its caller, an insert of a relation is precise.
    precise = Recording(cursor, Catalog.of(cursor))
    precise.noting({"comments"}).sql("SELECT 4, 'w'").insert_into("comments")
    assert precise.changed == {"comments"}


def test_before_the_tables_are_known_a_read_reads_everything(
    cursor: duckdb.DuckDBPyConnection,
) -> None:
    recording = Recording(cursor, Catalog())
    recording.execute("SELECT * FROM runs").fetchall()
    assert recording.read is EVERYTHING
