"""Roles, groups and token scopes, decided in the services."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from argon2 import PasswordHasher

from hub.domain.audit import AuditQuery
from hub.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from hub.services.identity import accounts, tokens
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM, Principal
from hub.services.tracking import projects, runs
from hub.store import Store
from tests.processes import python_prints
from tests.services.helpers import PASSWORD, person, run


@pytest.fixture
def team(store: Store) -> dict[str, Principal]:
    """Two projects; ana is their admin through creating them, the rest are given roles."""
    people = {name: person(store, name) for name in ("ana", "ben", "cleo", "dev", "eve")}
    run(runs.create_run(store, people["ana"], runs.NewRun("vision", "baseline")))
    run(runs.create_run(store, people["ana"], runs.NewRun("secret", "x")))
    ana = people["ana"]
    run(access.grant_role(store, ana, "vision", "user", "ben", "viewer"))
    run(accounts.create_group(store, SYSTEM, "editors"))
    run(accounts.add_member(store, SYSTEM, "editors", "cleo"))
    run(access.grant_role(store, ana, "vision", "group", "editors", "editor"))
    run(access.grant_role(store, ana, "vision", "user", "dev", "maintainer"))
    # group membership is resolved when a principal is made: refresh cleo's
    user = run(store.users.by_name("cleo"))
    assert user is not None
    people["cleo"] = run(
        tokens.principal_for_user(store, user, auth_method="session", auth_id=None)
    )
    return people


def names(store: Store, principal: Principal) -> list[str]:
    return [p.name for p in run(projects.list_projects(store, principal))]


def test_each_person_sees_only_their_projects(store: Store, team: dict[str, Principal]) -> None:
    assert names(store, team["ana"]) == ["secret", "vision"]
    assert names(store, team["ben"]) == ["vision"]
    assert names(store, team["cleo"]) == ["vision"]
    assert names(store, team["eve"]) == []
    assert names(store, SYSTEM) == ["secret", "vision"]


def test_an_outsider_cannot_tell_hidden_from_missing(
    store: Store, team: dict[str, Principal]
) -> None:
    hidden = run(projects.get_project(store, team["ana"], "secret"))
    secret_run = run(
        runs.search_runs(store, team["ana"], "secret", None, None, 10, None, 100)
    ).runs[0]
    with pytest.raises(NotFound) as hidden_error:
        run(projects.get_project(store, team["ben"], "secret"))
    with pytest.raises(NotFound) as missing_error:
        run(projects.get_project(store, team["ben"], "no-such-project"))
    assert hidden_error.value.message.replace("secret", "X") == missing_error.value.message.replace(
        "no-such-project", "X"
    )
    with pytest.raises(NotFound):
        run(runs.get_run(store, team["ben"], secret_run.id))
    with pytest.raises(NotFound):
        run(runs.set_notes(store, team["eve"], secret_run.id, "hi"))
    everything = run(runs.search_runs(store, team["ben"], None, None, None, 100, None, 100))
    assert {r.project_id for r in everything.runs} == {
        run(projects.get_project(store, team["ana"], "vision")).id
    }
    assert everything.total == 1 and hidden.id not in {r.project_id for r in everything.runs}
    denials = run(store.audit.search(AuditQuery(outcome="deny"), 100))
    assert {e.actor_id for e in denials} == {team["ben"].user_id, team["eve"].user_id}


def test_roles_decide_what_members_may_change(store: Store, team: dict[str, Principal]) -> None:
    vision_run = run(runs.search_runs(store, team["ben"], "vision", None, None, 1, None, 100)).runs[
        0
    ]
    with pytest.raises(Forbidden, match=r"viewer; run\.set_notes needs editor"):
        run(runs.set_notes(store, team["ben"], vision_run.id, "from a viewer"))
    run(runs.set_notes(store, team["cleo"], vision_run.id, "from an editor (via a group)"))
    run(runs.create_run(store, team["cleo"], runs.NewRun("vision", "new-experiment")))
    with pytest.raises(Forbidden):
        run(access.grant_role(store, team["cleo"], "vision", "user", "eve", "viewer"))
    run(access.grant_role(store, team["dev"], "vision", "user", "eve", "editor"))
    with pytest.raises(InvalidInput, match="Only project admins"):
        run(access.grant_role(store, team["dev"], "vision", "user", "eve", "admin"))
    members = run(
        access.members(store, team["ben"], run(projects.get_project(store, SYSTEM, "vision")))
    )
    assert [(m.name, m.membership.role) for m in members] == [
        ("ana", "admin"),
        ("dev", "maintainer"),
        ("editors", "editor"),
        ("eve", "editor"),
        ("ben", "viewer"),
    ]


def test_a_role_given_or_taken_away_holds_from_the_next_request(
    store: Store, team: dict[str, Principal]
) -> None:
    """Every check of a person who is not an admin reads their memberships, and the hub keeps
    that answer between changes: a change to a role must reach the very next check."""
    ben = team["ben"]
    vision_run = run(runs.search_runs(store, ben, "vision", None, None, 1, None, 100)).runs[0]
    for _ in range(2):  # asked twice: the second answer may come from memory
        with pytest.raises(Forbidden, match="viewer"):
            run(runs.set_notes(store, ben, vision_run.id, "from a viewer"))
    run(access.grant_role(store, team["ana"], "vision", "user", "ben", "editor"))
    assert run(runs.set_notes(store, ben, vision_run.id, "from an editor")).notes == (
        "from an editor"
    )
    assert run(access.revoke_role(store, team["ana"], "vision", "user", "ben"))
    with pytest.raises(NotFound):
        run(runs.get_run(store, ben, vision_run.id))
    assert names(store, ben) == []


def test_tokens_narrow_their_owner(store: Store, team: dict[str, Principal]) -> None:
    ana = team["ana"]
    _, read_only = run(tokens.create_token(store, ana, "ci", projects=["vision"], write=False))
    narrowed = run(tokens.principal_for_token(store, read_only))
    assert names(store, narrowed) == ["vision"]
    vision_run = run(runs.search_runs(store, narrowed, "vision", None, None, 1, None, 100)).runs[0]
    with pytest.raises(Forbidden, match="read-only"):
        run(runs.set_notes(store, narrowed, vision_run.id, "x"))
    with pytest.raises(NotFound):
        run(runs.create_run(store, narrowed, runs.NewRun("brand-new", "e")))
    with pytest.raises(InvalidInput, match="read-only token can only create read-only"):
        run(tokens.create_token(store, narrowed, "escalate", write=True))
    child, _ = run(tokens.create_token(store, narrowed, "child", write=False))
    assert set(child.scope_projects or ()) == narrowed.scope_projects and not child.scope_write


def test_revoked_expired_and_disabled_tokens_stop_at_once(
    store: Store, team: dict[str, Principal]
) -> None:
    cache = tokens.PrincipalCache(ttl=60)
    record, secret = run(tokens.create_token(store, team["ben"], "notebook"))
    assert run(tokens.principal_for_token(store, secret, cache)).user_name == "ben"
    run(tokens.revoke_token(store, team["ben"], record.id, cache))
    with pytest.raises(Unauthenticated):
        run(tokens.principal_for_token(store, secret, cache))
    with pytest.raises(NotFound):  # someone else's token looks like no token
        run(tokens.revoke_token(store, team["eve"], record.id))
    _, other = run(tokens.create_token(store, team["cleo"], "laptop"))
    run(accounts.set_disabled(store, SYSTEM, "cleo", True))
    with pytest.raises(Unauthenticated):
        run(tokens.principal_for_token(store, other))
    run(accounts.set_disabled(store, SYSTEM, "cleo", False))
    with pytest.raises(Unauthenticated):  # disabling ended the token for good
        run(tokens.principal_for_token(store, other))
    assert all(t.revoked_at is not None for t in run(store.tokens.of_user(team["cleo"].user_id)))
    for days in (0, 400, None):
        with pytest.raises(InvalidInput):
            run(tokens.create_token(store, team["ben"], "t", expires_in_days=days))


def test_passwords_are_checked_and_hashed(store: Store, team: dict[str, Principal]) -> None:
    run(accounts.set_password(store, team["ana"], "ana", PASSWORD))
    assert run(accounts.verify_password(store, "ana", PASSWORD)) is not None
    assert run(accounts.verify_password(store, "ANA ", PASSWORD)) is not None
    assert run(accounts.verify_password(store, "ana", "wrong-password")) is None
    assert run(accounts.verify_password(store, "nobody", PASSWORD)) is None
    with pytest.raises(InvalidInput, match="at least 10"):
        run(accounts.create_user(store, SYSTEM, "short", "abc"))
    with pytest.raises(Forbidden):
        run(accounts.create_user(store, team["ben"], "mallory", PASSWORD))
    stored = run(store.users.with_password_hash("ana"))
    assert stored is not None and stored[1] is not None and stored[1].startswith("$argon2id$")


def test_passwords_are_hashed_and_checked_off_the_event_loop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 takes a tenth of a second of CPU or more by design: on the event loop's thread,
    each sign-in would stop every other request of the hub meanwhile."""
    threads: list[int] = []
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)

        def noting_the_thread(self: PasswordHasher, *args: Any, _real: Any = real) -> Any:
            threads.append(threading.get_ident())
            return _real(self, *args)

        monkeypatch.setattr(PasswordHasher, name, noting_the_thread)

    async def sign_ups_and_sign_ins() -> int:
        await accounts.create_user(store, SYSTEM, "ana", PASSWORD)
        await accounts.set_password(store, SYSTEM, "ana", "another-long-password")
        assert await accounts.verify_password(store, "ana", "another-long-password") is not None
        assert await accounts.verify_password(store, "nobody", PASSWORD) is None
        return threading.get_ident()

    loop_thread = run(sign_ups_and_sign_ins())
    assert len(threads) == 4 and loop_thread not in threads


def test_a_command_importing_the_accounts_hashes_nothing() -> None:
    """Every salon command imports the accounts; hashing at import (the hash unknown names are
    checked against) cost each one a tenth of a second or more. The hub makes it at start."""
    script = (
        "import argon2; made = []; real = argon2.PasswordHasher.hash; "
        "argon2.PasswordHasher.hash = lambda self, *a: made.append(1) or real(self, *a); "
        "import hub.cli, hub.services.identity.accounts; print(len(made))"
    )
    assert python_prints(script).strip() == "0"


def test_restricted_objects_are_seen_only_by_their_groups_and_admins(
    store: Store, team: dict[str, Principal]
) -> None:
    vision = run(projects.get_project(store, SYSTEM, "vision"))
    run(accounts.create_group(store, SYSTEM, "clinicians"))
    run(accounts.add_member(store, SYSTEM, "clinicians", "ben"))
    ben = run(store.users.by_name("ben"))
    assert ben is not None
    ben_now = run(tokens.principal_for_user(store, ben, auth_method="session", auth_id=None))
    with pytest.raises(Forbidden):  # an editor may not restrict
        run(access.restrict(store, team["cleo"], vision, "dataset", "d1", ["clinicians"]))
    run(access.restrict(store, team["dev"], vision, "dataset", "d1", ["clinicians"]))
    ids = ["d1", "d2"]
    seen = {
        name: run(access.visible_objects(store, who, vision.id, "dataset", ids))
        for name, who in {**team, "ben": ben_now}.items()
    }
    assert seen["ben"] == {"d1", "d2"}, "viewer in the group"
    assert seen["cleo"] == {"d2"}, "editor outside the group"
    assert seen["dev"] == {"d2"}, "maintainer outside the group"
    assert seen["ana"] == {"d1", "d2"}, "project admin"
    assert seen["eve"] == set(), "not a member of the project"
    assert run(access.visible_objects(store, SYSTEM, vision.id, "dataset", ids)) == {"d1", "d2"}
    run(access.restrict(store, team["dev"], vision, "dataset", "d1", []))
    assert run(access.visible_objects(store, team["cleo"], vision.id, "dataset", ids)) == {
        "d1",
        "d2",
    }
