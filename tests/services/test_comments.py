"""Comments' mentions and who is told, where the hub keeps the answers of its lookups."""

from __future__ import annotations

from hub.services.collaboration import activity, comments
from hub.services.identity import accounts
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from hub.services.tracking import runs
from hub.store import Store
from tests.services.helpers import person, run


def test_people_and_groups_made_after_a_mention_are_found_by_the_next_one(store: Store) -> None:
    """People and groups are looked up by name as kept reads: ones made after a comment named
    them, and a group's new member, must count from the next comment on."""
    ana = person(store, "ana")
    target = run(runs.create_run(store, ana, runs.NewRun("vision", "baseline")))
    body = "The curve flattens after step 600, @zoe and @reviewers: have a look."
    first = run(comments.add(store, ana, "run", target.id, body))
    assert run(store.comments.mentions([first.id])).get(first.id, []) == []

    zoe = person(store, "zoe")
    run(access.grant_role(store, ana, "vision", "user", "zoe", "viewer"))
    reviewers = run(accounts.create_group(store, SYSTEM, "reviewers"))
    yan = person(store, "yan")
    run(access.grant_role(store, ana, "vision", "user", "yan", "viewer"))
    run(accounts.add_member(store, SYSTEM, "reviewers", "yan"))

    second = run(comments.add(store, ana, "run", target.id, body))
    mentioned = {
        (m.subject_kind, m.subject_id) for m in run(store.comments.mentions([second.id]))[second.id]
    }
    assert mentioned == {("user", zoe.user_id), ("group", reviewers.id)}
    for reader in (zoe, yan):
        told = [
            n.activity.object_id
            for n in run(activity.inbox(store, reader))
            if n.reason == "mention"
        ]
        assert told == [second.id], reader.user_name
