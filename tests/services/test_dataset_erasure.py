"""Erasing a data subject from every version of a dataset, on both backends: the rows go from
each version's object (a file another dataset shares stays for it), profiles and counts follow,
numbers and lineage stay, annotations move with their rows, the record keeps no values; and
what refuses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.domain.lifecycle import DatasetErasure
from hub.errors import Conflict, FilterSyntaxError, Forbidden, InvalidInput
from hub.services.data import dataset_uploads, datasets, row_annotations
from hub.services.data.row_annotations import NewAnnotation
from hub.services.identity import accounts, tokens
from hub.services.lifecycle import erasure, holds, trash
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.settings import Settings
from hub.store import Store
from tests.services.helpers import run

SUBJECT = "customer_id = 'C-1042'"


def rows_csv(count: int, subject_every: int) -> str:
    """``count`` claims; every ``subject_every``-th is the subject's."""
    lines = ["customer_id,amount,region"]
    for i in range(count):
        customer = "C-1042" if i % subject_every == 3 else f"C-{i:05d}"
        lines.append(f"{customer},{i * 1.5:.1f},{('north', 'south')[i % 2]}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def setup(store: Store, tmp_path: Path) -> dict[str, Any]:
    ana = SYSTEM
    run(runs.create_run(store, ana, runs.NewRun("claims", "e")))
    settings = Settings(data_dir=tmp_path)

    def upload(name: str, text: str) -> None:
        source = tmp_path / f"{name}.csv"
        source.write_text(text)
        run(dataset_uploads.upload(store, settings, ana, "claims", name, source, source.name))

    upload("claims", rows_csv(3000, 500))  # v1: 6 of the subject's rows
    upload("claims", rows_csv(4000, 500))  # v2: 8
    upload("claims", rows_csv(3000, 500))  # v3: v1's content again, one object for both
    upload("copy", rows_csv(3000, 500))  # another dataset sharing v1's object
    found = run(datasets.find(store, ana, "claims", "claims"))
    return {"settings": settings, "found": found, "store": store}


async def ours() -> bool:
    return True


def carried_out(store: Store, settings: Settings) -> DatasetErasure | None:
    """What the hub's worker does: carry out the oldest waiting request."""
    return run(erasure.carry_out_next(store, settings, ours))


def matching(store: Store, found: datasets.Found, number: int, text: str = SUBJECT) -> int:
    record = run(datasets.version(store, found, number))
    return run(datasets.preview(store, SYSTEM, found, record, 0, 10, None, text)).total


def test_the_subject_leaves_every_version_and_the_rest_stays(setup: dict[str, Any]) -> None:
    store, found, settings = setup["store"], setup["found"], setup["settings"]
    before = {v.number: v for v in run(datasets.versions(store, found))}
    v1_object = run(store.datasets.files(before[1].id))[0].object_hash
    v2_object = run(store.datasets.files(before[2].id))[0].object_hash
    run(  # notes on a row after the subject's first one, and on one of the subject's rows
        row_annotations.annotate(
            store,
            SYSTEM,
            found,
            before[1],
            [NewAnnotation(10, label="checked"), NewAnnotation(3, label="subject")],
        )
    )
    run(trash.move_to_trash(store, SYSTEM, "dataset_version", before[2].id))  # trashed too

    asked = run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", SUBJECT))
    assert (asked.state, asked.rows, asked.finished_at) == ("queued", (), None)
    assert matching(store, found, 1) == 6, "a request changed data before the hub took it"
    assert [r.state for r in run(erasure.erasures_of(store, SYSTEM, found))] == ["queued"]
    done = carried_out(store, settings)
    assert done is not None and done.id == asked.id and done.state == "done"
    assert done.rows == ((1, 6), (2, 8), (3, 6)) and done.total == 20
    assert done.filter == SUBJECT and done.requested_by == "salon"
    assert carried_out(store, settings) is None
    run(trash.restore(store, SYSTEM, run(trash.trash_of(store, SYSTEM))[0].id))
    after = {v.number: v for v in run(datasets.versions(store, found))}
    assert sorted(after) == [1, 2, 3]
    for number in (1, 2, 3):
        assert matching(store, found, number) == 0
        assert after[number].row_count == before[number].row_count - dict(done.rows)[number]
        assert after[number].parent_id == before[number].parent_id
        assert after[number].profile["customer_id"] != before[number].profile["customer_id"]
        assert matching(store, found, number, "region = 'north'") > 0
    assert not store.objects.exists(v2_object), "the erased rows' last copy is still stored"
    assert store.objects.exists(v1_object), "the other dataset's copy was deleted"
    other = run(datasets.find(store, SYSTEM, "claims", "copy"))
    assert matching(store, other, 1) == 6  # its own erasure is its own
    notes = run(row_annotations.version_annotations(store, SYSTEM, found, after[1]))
    assert [(a.row_number, a.label) for a in notes] == [(9, "checked")]
    records = run(erasure.erasures_of(store, SYSTEM, found))
    assert [(r.id, r.state, r.rows) for r in records] == [(done.id, "done", done.rows)]
    assert records[0].finished_at is not None and "C-1042" not in repr(records[0].rows)


def test_a_request_that_cannot_be_carried_out_fails_with_the_reason(
    setup: dict[str, Any],
) -> None:
    store, found, settings = setup["store"], setup["found"], setup["settings"]
    asked = run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", SUBJECT))
    # A hold placed after the request and before the hub takes it: the request fails.
    run(holds.place(store, SYSTEM, "dataset", "claims", "litigation 5", project="claims"))
    failed = carried_out(store, settings)
    assert failed is not None and failed.state == "failed"
    assert "legal hold on dataset claims/claims" in (failed.problem or "")
    (record,) = run(erasure.erasures_of(store, SYSTEM, found))
    assert (record.id, record.state, record.problem) == (asked.id, "failed", failed.problem)
    assert matching(store, found, 1) == 6


def test_a_request_cut_off_by_a_stopped_hub_is_carried_out_again(
    setup: dict[str, Any],
) -> None:
    store, found, settings = setup["store"], setup["found"], setup["settings"]
    run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", SUBJECT))

    async def lost() -> bool:  # the lease went to another hub after the first version
        return False

    with pytest.raises(erasure.Abandoned):
        run(erasure.carry_out_next(store, settings, lost))
    assert [r.state for r in run(erasure.erasures_of(store, SYSTEM, found))] == ["running"]
    assert matching(store, found, 1) == 6
    done = carried_out(store, settings)  # the hub now holding the work starts it again
    assert done is not None and done.state == "done" and done.total == 20


def test_bad_filters_rights_and_holds_are_refused_and_change_nothing(
    setup: dict[str, Any],
) -> None:
    store, found, settings = setup["store"], setup["found"], setup["settings"]
    with pytest.raises(InvalidInput, match="Say which rows"):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", "  "))
    with pytest.raises(FilterSyntaxError):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", "customer_id =="))
    with pytest.raises(InvalidInput, match="matches no row in any version"):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", "amount < 0"))
    with pytest.raises((InvalidInput, FilterSyntaxError), match="nosuch"):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", "nosuch = 1"))
    with pytest.raises(InvalidInput, match="does not fit"):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", "amount = 'x'"))
    user = run(accounts.create_user(store, SYSTEM, "ed", "a-long-password-1"))
    ed = run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
    run(access.grant_role(store, SYSTEM, "claims", "user", "ed", "editor"))
    with pytest.raises(Forbidden, match="needs maintainer"):
        run(erasure.erase_rows(store, settings, ed, "claims", "claims", SUBJECT))
    run(holds.place(store, SYSTEM, "dataset", "claims", "litigation 4", project="claims"))
    with pytest.raises(Conflict, match="legal hold on dataset claims/claims"):
        run(erasure.erase_rows(store, settings, SYSTEM, "claims", "claims", SUBJECT))
    for number in (1, 2, 3):
        assert matching(store, found, number) in (6, 8)
    assert run(erasure.erasures_of(store, SYSTEM, found)) == []
