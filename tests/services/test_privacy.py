"""A person's rights, on both backends: the export of everything Salon holds about them, and
their erasure (a pseudonym everywhere, personal rows gone, their audit addresses unreadable, the
chain still whole), with what refuses it."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from hub.domain.audit import AuditQuery
from hub.errors import Conflict, Forbidden, NotFound
from hub.services.collaboration import comments
from hub.services.identity import tokens
from hub.services.lifecycle import holds, privacy
from hub.services.policy import access
from hub.services.policy.principal import Principal
from hub.services.tracking import runs
from hub.store import Store
from tests.services.helpers import person, run


@pytest.fixture
def people(store: Store) -> dict[str, Principal]:
    """ana (an admin) made 'vision'; ben edits there and calls from 10.1.2.3; olga is the
    compliance officer."""
    found = {
        "ana": person(store, "ana", is_admin=True, email="ana@x.org"),
        "ben": person(store, "ben", email="ben@x.org"),
        "olga": person(store, "olga", is_compliance=True, email="olga@x.org"),
    }
    run(runs.create_run(store, found["ana"], runs.NewRun("vision", "e", name="anas")))
    run(access.grant_role(store, found["ana"], "vision", "user", "ben", "editor"))
    found["ben"] = found["ben"].at("10.1.2.3")
    return found


def archive(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as packed:
        return {name[:-5]: json.loads(packed.read(name)) for name in packed.namelist()}


def test_an_export_holds_what_salon_knows_about_the_person(
    store: Store, people: dict[str, Principal]
) -> None:
    ben = people["ben"]
    bens = run(runs.create_run(store, ben, runs.NewRun("vision", "e", name="bens-run")))
    run(runs.get_run(store, ben, bens.id))
    run(comments.add(store, ben, "run", bens.id, "Loss is flat after step 3"))
    run(tokens.create_token(store, ben, "laptop"))
    with pytest.raises(Forbidden, match="compliance officers"):
        run(privacy.export(store, ben, "ben"))
    with pytest.raises(NotFound, match="nobody called"):
        run(privacy.export(store, people["olga"], "nobody"))

    made = run(privacy.export(store, people["olga"], "ben"))
    assert made.file_name.startswith("salon-ben-") and made.file_name.endswith(".zip")
    found = archive(made.archive)
    assert made.counts == found["manifest"]["counts"]
    assert found["manifest"]["person"] == "ben" and found["manifest"]["exported_by"] == "olga"
    assert found["account"][0]["email"] == "ben@x.org"
    assert "password_hash" not in found["account"][0]
    assert [r["name"] for r in found["runs"]] == ["bens-run"]
    assert [c["body"] for c in found["comments"]] == ["Loss is flat after step 3"]
    assert [t["name"] for t in found["tokens"]] == ["laptop"]
    assert not any("hash" in key for t in found["tokens"] for key in t)
    assert [(m["project"], m["role"]) for m in found["memberships"]] == [("vision", "editor")]
    addresses = {e["address"] for e in found["audit_events"] if e["actor_id"] == ben.user_id}
    assert addresses == {"10.1.2.3"}
    assert found["manifest"]["counts"]["audit_events"] == len(found["audit_events"]) > 3


def test_erasing_a_person_leaves_a_pseudonym_and_a_chain_that_verifies(
    store: Store, people: dict[str, Principal]
) -> None:
    ana, ben, olga = people["ana"], people["ben"], people["olga"]
    bens = run(runs.create_run(store, ben, runs.NewRun("vision", "e", name="lr-sweep")))
    run(runs.set_notes(store, ana, bens.id, "Ask @ben about the learning rate"))
    comment = run(comments.add(store, ana, "run", bens.id, "@ben can you rerun this?"))
    run(comments.add(store, ben, "run", bens.id, "Rerunning now", reply_to=comment.id))
    run(tokens.create_token(store, ben, "laptop"))

    with pytest.raises(Forbidden):
        run(privacy.erase(store, ben, "ana"))
    hold = run(holds.place(store, olga, "person", "ben", "matter 12"))
    with pytest.raises(Conflict, match="legal hold on person ben"):
        run(privacy.erase(store, olga, "ben"))
    run(holds.release(store, olga, hold.id))

    pseudonym, changed, _ = run(privacy.erase(store, olga, "ben"))
    assert pseudonym == "former-member-1"
    assert changed["memberships"] == 1 and changed["api_tokens"] == 1
    assert changed["person_keys"] == 1
    stored = run(runs.get_run(store, ana, bens.id))
    assert (stored.user_name, stored.created_by) == (pseudonym, pseudonym)
    assert stored.notes == "Ask @former-member-1 about the learning rate"
    bodies = [c.body for c in run(comments.threads(store, ana, "run", bens.id)).comments]
    assert "@former-member-1 can you rerun this?" in bodies and "Rerunning now" in bodies
    assert run(store.users.by_name("ben")) is None
    account = run(store.users.by_name(pseudonym))
    assert account is not None and account.email is None and account.disabled_at is not None
    assert account.display_name == "Former member 1"

    report = run(store.audit.verify())
    assert report.ok, report
    events = run(store.audit.search(AuditQuery(actor_id=ben.user_id), 1000))
    assert events and {e.address for e in events} == {"(erased)"}
    with pytest.raises(Conflict, match="erased already"):
        run(privacy.erase(store, olga, pseudonym))
    with pytest.raises(Conflict, match="last site admin"):
        run(privacy.erase(store, olga, "ana"))
    with pytest.raises(Conflict, match="cannot erase yourself"):
        run(privacy.erase(store, olga, "olga"))
    left = archive(run(privacy.export(store, olga, pseudonym)).archive)
    assert left["account"][0]["email"] is None and left["tokens"] == []
    assert left["memberships"] == [] and "ben" not in json.dumps(left["runs"])
