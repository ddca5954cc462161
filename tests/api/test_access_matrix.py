"""The access matrix: every query field and mutation of the schema, for every kind of caller.

The fields come from the schema itself, so a field added without a rule here fails
``test_every_field_has_a_rule``. Each (field, caller) pair is sent through the HTTP API and
must be allowed exactly when the caller holds what the rule names; denied means a 401, a typed
NotFound/Forbidden error, a null, or (for lists) not seeing the hidden project.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from hub.api.schema import build_schema
from hub.clock import now
from hub.domain.cluster import Booking, ClusterJob, NodeSample
from hub.services.cluster import bookings
from hub.services.collaboration import comments, pages, share_links, tasks, webhooks
from hub.services.identity import accounts, tokens
from hub.services.lifecycle import holds, trash
from hub.services.policy import access
from hub.services.policy.principal import SYSTEM
from hub.services.registry import registration, reviews
from hub.services.tracking import runs
from hub.settings import Settings
from hub.store import Store
from tests.inprocess import InProcessHub, in_process_hub

LEVELS = ("signed_in", "viewer", "commenter", "editor", "maintainer", "site_admin", "audit_reader")
# comment_author: only the-commenter, who wrote World.comment
ROLE_LEVELS = {
    "viewer": {"signed_in", "viewer"},
    "commenter": {"signed_in", "viewer", "commenter", "comment_author"},
    "editor": {"signed_in", "viewer", "commenter", "editor"},
    "maintainer": {"signed_in", "viewer", "commenter", "editor", "maintainer"},
    "admin": {"signed_in", "viewer", "commenter", "editor", "maintainer"},
}


@dataclasses.dataclass
class World:
    hub: InProcessHub
    callers: dict[str, tuple[str | None, set[str]]]  # name: (token, levels held)
    alpha_run: str
    victim_token: str
    comment: str  # by the-commenter, on alpha_run
    webhook: str  # of project alpha
    task: str  # on alpha's board
    alpha_project: str = ""
    model_version: str = ""  # version 1 of alpha's matrix-model, registered by Salon itself

    review: str = ""  # over alpha's readings, judged once by Salon itself

    def fresh_review(self) -> str:
        """A review of matrix-model version 1, for changes that use one up."""
        return _run(
            reviews.start(
                self.hub.store, SYSTEM, self.model_version, "readings", "b", size=2, per_item=10
            )
        ).id

    def fresh_model_version(self) -> int:
        """A new version of matrix-model, for moves that use one up."""
        _, version, _ = _run(
            registration.register(
                self.hub.store, SYSTEM, self.alpha_run, "matrix-model", "model.onnx"
            )
        )
        return version.number

    def fresh_booking(self) -> str:
        """A booking by Salon itself in alpha (nobody's own)."""
        at = now() + timedelta(days=2)
        booking = Booking(
            f"b-{unique()}-{id(at)}",
            self.alpha_project,
            "system",
            1,
            at,
            at + timedelta(hours=1),
            "UTC",
            "",
            now(),
        )
        return _run(self.hub.store.bookings.create(booking, 1000, [], {}, audit=[])).id

    def fresh_webhook(self) -> str:
        return _run(webhooks.create(self.hub.store, Settings(), SYSTEM, "alpha", PUBLIC_URL, [])).id

    def fresh_share_link(self) -> str:
        """A link made by Salon itself (nobody's own) to alpha's usage chart."""

        async def shows_anything(*_: object) -> None:
            return None

        request = share_links.ShareRequest("resource_usage", "alpha", "matrix")
        return _run(share_links.create(self.hub.store, SYSTEM, request, shows_anything))[0].id

    def fresh_run(self) -> str:
        """A run of alpha by Salon itself (nobody's own)."""
        return _run(runs.create_run(self.hub.store, SYSTEM, runs.NewRun("alpha", "e"))).id

    def fresh_trash_entry(self) -> str:
        """A run of alpha that Salon itself moved to the trash."""
        return _run(trash.move_to_trash(self.hub.store, SYSTEM, "run", self.fresh_run())).id

    def fresh_person(self, caller: str) -> str:
        name = f"p-{caller}-{unique()}"
        _run(accounts.create_user(self.hub.store, SYSTEM, name, None))
        return name

    def fresh_hold(self, caller: str) -> str:
        person = self.fresh_person(caller)
        return _run(holds.place(self.hub.store, SYSTEM, "person", person, "matrix")).id

    def fresh_comment(self) -> str:
        """A comment by Salon itself (nobody's own), for changes that use one up."""
        return _run(comments.add(self.hub.store, SYSTEM, "run", self.alpha_run, "x")).id


Check = Callable[[Any, World], bool]


def seen(value: Any, world: World) -> bool:
    return value is not None and not str(value.get("__typename", "")).endswith("Error")


def sees_alpha(value: Any, world: World) -> bool:
    return any(p["name"] == "alpha" for p in value)


def non_empty(value: Any, world: World) -> bool:
    return bool(value)


def names_alpha(field: str) -> Check:
    """A list that names project alpha; to others the same list, with alpha's share under
    "other projects"."""

    def check(value: Any, world: World) -> bool:
        assert value is not None
        return any(row[field] == "alpha" for row in value)

    return check


@dataclasses.dataclass(frozen=True)
class Rule:
    level: str
    document: str
    check: Check = seen


PUBLIC_URL = "https://93.184.215.14/matrix"  # a public address: no DNS needed


def passes_the_rules(value: Any, world: World) -> bool:
    """Allowed through the permission check (what happens next needs a Ray cluster, which the
    matrix hub has not: a typed ValidationError saying so)."""
    return value is not None and value["__typename"] not in ("NotFoundError", "ForbiddenError")


def unique() -> str:
    return "x" + str(abs(hash(now())))[-8:]


RULES: dict[str, Callable[[World, str], tuple[Rule, dict[str, Any]]]] = {
    # queries
    "version": lambda w, c: (Rule("signed_in", "{ version }", lambda v, w: bool(v)), {}),
    "me": lambda w, c: (Rule("signed_in", "{ me { user { name } } }"), {}),
    "users": lambda w, c: (Rule("signed_in", "{ users { name } }", non_empty), {}),
    "groups": lambda w, c: (
        Rule("signed_in", "{ groups { name } }", lambda v, w: v is not None),
        {},
    ),
    "apiTokens": lambda w, c: (
        Rule("signed_in", "{ apiTokens { id } }", lambda v, w: v is not None),
        {},
    ),
    "projects": lambda w, c: (Rule("viewer", "{ projects { name } }", sees_alpha), {}),
    "projectsOutOfReach": lambda w, c: (
        Rule("signed_in", "{ projectsOutOfReach { count siteAdmins } }"),
        {},
    ),
    "project": lambda w, c: (
        Rule("viewer", '{ project(name: "alpha") { name members { name } } }'),
        {},
    ),
    "run": lambda w, c: (
        Rule("viewer", "query($id: ID!) { run(id: $id) { name } }"),
        {"id": w.alpha_run},
    ),
    "runs": lambda w, c: (
        Rule(
            "viewer",
            '{ runs(project: "alpha") { __typename ... on RunConnection { totalCount } } }',
        ),
        {},
    ),
    "metricSeries": lambda w, c: (
        Rule(
            "viewer",
            'query($r: [ID!]!) { metricSeries(runIds: $r, keys: ["loss"], buckets: 10) { key } }',
            non_empty,
        ),
        {"r": [w.alpha_run]},
    ),
    "datasets": lambda w, c: (
        Rule("viewer", '{ datasets(project: "alpha") { name } }', non_empty),
        {},
    ),
    "dataset": lambda w, c: (
        Rule(
            "viewer",
            '{ dataset(project: "alpha", name: "readings") { version { rows(limit: 1) { ... on DatasetRows { total } } } } }',
        ),
        {},
    ),
    "auditEvents": lambda w, c: (
        Rule("audit_reader", "{ auditEvents(first: 5) { __typename ... on Error { message } } }"),
        {},
    ),
    "auditProjects": lambda w, c: (
        Rule("audit_reader", "{ auditProjects { name } }", non_empty),
        {},
    ),
    "discussion": lambda w, c: (
        Rule(
            "viewer",
            "query($id: ID!) { discussion(kind: RUN, id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "activity": lambda w, c: (
        Rule("viewer", '{ activity(project: "alpha") { __typename ... on Error { message } } }'),
        {},
    ),
    "inbox": lambda w, c: (
        Rule("signed_in", "{ inbox { reason } }", lambda v, w: v is not None),
        {},
    ),
    "unreadNotifications": lambda w, c: (
        Rule("signed_in", "{ unreadNotifications }", lambda v, w: v is not None),
        {},
    ),
    "mentionCandidates": lambda w, c: (
        Rule(
            "viewer",
            "query($id: ID!) { mentionCandidates(kind: RUN, id: $id) { name } }",
            non_empty,
        ),
        {"id": w.alpha_run},
    ),
    "commentHistory": lambda w, c: (
        Rule(
            "maintainer",
            "query($id: ID!) { commentHistory(id: $id) { body } }",
            lambda v, w: v is not None,
        ),
        {"id": w.fresh_comment()},
    ),
    "tasks": lambda w, c: (Rule("viewer", '{ tasks(project: "alpha") { number } }', non_empty), {}),
    "myWork": lambda w, c: (
        Rule("signed_in", "{ myWork { number } }", lambda v, w: v is not None),
        {},
    ),
    "task": lambda w, c: (
        Rule("viewer", "query($id: ID!) { task(id: $id) { __typename ... on Error { message } } }"),
        {"id": w.task},
    ),
    "digestSettings": lambda w, c: (Rule("signed_in", "{ digestSettings { frequency } }"), {}),
    "digestPreview": lambda w, c: (Rule("signed_in", "{ digestPreview { subject } }"), {}),
    "pages": lambda w, c: (Rule("viewer", '{ pages(project: "alpha") { slug } }', non_empty), {}),
    "page": lambda w, c: (
        Rule(
            "viewer",
            '{ page(project: "alpha", slug: "welcome") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "runNotebooks": lambda w, c: (
        Rule(
            "viewer",
            "query($id: ID!) { runNotebooks(runId: $id) { slug } }",
            lambda v, w: v is not None,
        ),
        {"id": w.alpha_run},
    ),
    "cluster": lambda w, c: (Rule("signed_in", "{ cluster { configured } }"), {}),
    "clusterHistory": lambda w, c: (
        Rule("signed_in", "{ clusterHistory { gpus } }", lambda v, w: v is not None),
        {},
    ),
    # Everyone signed in sees the cluster's use; alpha's name (and its people) only its readers.
    "clusterUsage": lambda w, c: (
        Rule("viewer", '{ clusterUsage(by: "project") { who } }', names_alpha("who")),
        {},
    ),
    "clusterJobs": lambda w, c: (
        Rule(
            "viewer",
            "{ clusterJobs { project user entrypoint } }",
            lambda v, w: bool(v) and v[0]["project"] == "alpha" and v[0]["user"] == "salon",
        ),
        {},
    ),
    "models": lambda w, c: (Rule("viewer", '{ models(project: "alpha") { name } }', non_empty), {}),
    "model": lambda w, c: (
        Rule(
            "viewer",
            '{ model(project: "alpha", name: "matrix-model") { __typename ... on Model { name } } }',
        ),
        {},
    ),
    "modelVersion": lambda w, c: (
        Rule(
            "viewer",
            "query($id: ID!) { modelVersion(id: $id) { __typename ... on ModelVersion { number } } }",
        ),
        {"id": w.model_version},
    ),
    "reviews": lambda w, c: (
        Rule(
            "commenter",
            "{ reviews { id } }",
            lambda v, w: bool(v) and any(q["id"] == w.review for q in v),
        ),
        {},
    ),
    "review": lambda w, c: (
        Rule(
            "viewer", "query($id: ID!) { review(id: $id) { __typename ... on ReviewQueue { id } } }"
        ),
        {"id": w.review},
    ),
    "reviewSamples": lambda w, c: (
        Rule(
            "commenter",
            "query($id: ID!) { reviewSamples(id: $id, limit: 2) { __typename ... on ReviewSamples { total } } }",
        ),
        {"id": w.review},
    ),
    "runModelVersions": lambda w, c: (
        Rule("viewer", "query($id: ID!) { runModelVersions(runId: $id) { number } }", non_empty),
        {"id": w.alpha_run},
    ),
    "modelCard": lambda w, c: (
        Rule(
            "viewer",
            "query($id: ID!) { modelCard(versionId: $id) { __typename ... on ModelCard { markdown } } }",
        ),
        {"id": w.model_version},
    ),
    "gpuHolders": lambda w, c: (
        Rule("signed_in", "{ gpuHolders { __typename } }", passes_the_rules),
        {},
    ),
    "jobLogs": lambda w, c: (
        Rule("viewer", 'query { jobLogs(id: "salon-matrix") { __typename } }', passes_the_rules),
        {},
    ),
    "gpuBookings": lambda w, c: (
        Rule("signed_in", "{ gpuBookings { id } }", lambda v, w: v is not None),
        {},
    ),
    "gpuQuotas": lambda w, c: (Rule("viewer", "{ gpuQuotas { name } }", names_alpha("name")), {}),
    "fairShare": lambda w, c: (Rule("viewer", "{ fairShare { who } }", names_alpha("who")), {}),
    "webhooks": lambda w, c: (
        Rule("maintainer", '{ webhooks(project: "alpha") { id } }', lambda v, w: v is not None),
        {},
    ),
    "auditVerification": lambda w, c: (
        Rule("audit_reader", "{ auditVerification { __typename ... on Error { message } } }"),
        {},
    ),
    # mutations
    "createRun": lambda w, c: (
        # The run is the caller's, whoever it names as its user.
        Rule(
            "editor",
            'mutation { createRun(input: {project: "alpha", experiment: "m", user: "victim"}) '
            "{ __typename ... on Run { user } ... on Error { message } } }",
            lambda v, w: v["__typename"] == "Run" and v["user"] != "victim",
        ),
        {},
    ),
    "finishRun": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!) { finishRun(id: $id, status: FINISHED) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "logParams": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!, $k: String!) { logParams(runId: $id, params: "
            '[{key: $k, value: "1"}]) { __typename ... on Error { message } } }',
        ),
        {"id": w.alpha_run, "k": f"p-{c}"},
    ),
    "setTags": lambda w, c: (
        Rule(
            "editor",
            'mutation($id: ID!) { setTags(runId: $id, tags: [{key: "t", value: "v"}]) '
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "renameRun": lambda w, c: (
        Rule(
            "editor",
            'mutation($id: ID!) { renameRun(runId: $id, name: "renamed") '
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "setRunNotes": lambda w, c: (
        Rule(
            "editor",
            'mutation($id: ID!) { setRunNotes(runId: $id, notes: "n") '
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "describeDatasetColumn": lambda w, c: (
        Rule(
            "editor",
            'mutation { describeDatasetColumn(project: "alpha", dataset: "readings", column: "a", description: "d") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "restrictDataset": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { restrictDataset(project: "alpha", dataset: "readings", groups: []) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "useDataset": lambda w, c: (
        Rule(
            "editor",
            'mutation($id: ID!) { useDataset(runId: $id, project: "alpha", dataset: "readings") '
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "annotateRows": lambda w, c: (
        Rule(
            "commenter",
            'mutation { annotateRows(project: "alpha", dataset: "readings", version: 1, annotations: [{row: 0, vote: 1}]) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "publishAnnotations": lambda w, c: (
        Rule(
            "editor",
            'mutation { publishAnnotations(project: "alpha", dataset: "readings", version: 1) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "fixDatasetSchema": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { fixDatasetSchema(project: "alpha", dataset: "readings", fixed: false) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "addComment": lambda w, c: (
        Rule(
            "commenter",
            'mutation($id: ID!) { addComment(kind: RUN, id: $id, body: "hi") { __typename ... on Error { message } } }',
        ),
        {"id": w.alpha_run},
    ),
    "editComment": lambda w, c: (
        Rule(
            "comment_author",
            'mutation($id: ID!) { editComment(id: $id, body: "edited") { __typename ... on Error { message } } }',
        ),
        {"id": w.comment},
    ),
    "deleteComment": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { deleteComment(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_comment()},
    ),
    "resolveThread": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!) { resolveThread(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_comment()},
    ),
    "react": lambda w, c: (
        Rule(
            "commenter",
            'mutation($id: ID!) { react(id: $id, emoji: "+1") { __typename ... on Error { message } } }',
        ),
        {"id": w.comment},
    ),
    "watch": lambda w, c: (
        Rule(
            "viewer",
            "mutation($id: ID!) { watch(kind: RUN, id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.alpha_run},
    ),
    "markNotificationsRead": lambda w, c: (
        Rule(
            "signed_in",
            "mutation { markNotificationsRead { __typename ... on Error { message } } }",
        ),
        {},
    ),
    "markFeedSeen": lambda w, c: (
        Rule(
            "viewer",
            'mutation { markFeedSeen(project: "alpha") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "setDigestSettings": lambda w, c: (
        Rule(
            "signed_in",
            'mutation { setDigestSettings(frequency: "off") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "sendDigests": lambda w, c: (
        Rule("site_admin", "mutation { sendDigests { __typename ... on Error { message } } }"),
        {},
    ),
    "savePage": lambda w, c: (
        Rule(
            "commenter",
            'mutation { savePage(project: "alpha", slug: "matrix", title: "M", body: "b") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "bookGpus": lambda w, c: (
        Rule(
            "editor",
            'mutation($s: String!, $e: String!) { bookGpus(project: "alpha", gpus: 1, start: $s, end: $e) { __typename ... on Error { message } } }',
        ),
        {
            "s": (now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "e": (now() + timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    ),
    "releaseBooking": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { releaseBooking(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_booking()},
    ),
    "setGpuQuota": lambda w, c: (
        Rule(
            "site_admin",
            'mutation { setGpuQuota(scope: "project", name: "alpha", gpus: 100) { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "submitJob": lambda w, c: (
        Rule(
            "editor",
            'mutation { submitJob(project: "alpha", entrypoint: "echo hi") { __typename } }',
            passes_the_rules,
        ),
        {},
    ),
    "stopJob": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { stopJob(id: "salon-matrix") { __typename } }',
            passes_the_rules,
        ),
        {},
    ),
    "createModel": lambda w, c: (
        Rule(
            "editor",
            'mutation($n: String!) { createModel(project: "alpha", name: $n) { __typename ... on Error { message } } }',
        ),
        {"n": f"m-{c}-{unique()}"},
    ),
    "registerModelVersion": lambda w, c: (
        Rule(
            "editor",
            'mutation($r: ID!) { registerModelVersion(runId: $r, name: "matrix-model", source: "model.onnx") { __typename ... on Error { message } } }',
        ),
        {"r": w.alpha_run},
    ),
    "setModelPolicy": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { setModelPolicy(project: "alpha", model: "matrix-model", policy: {}) { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "moveModelAlias": lambda w, c: (
        Rule(
            "maintainer",
            'mutation($v: Int) { moveModelAlias(project: "alpha", model: "matrix-model", alias: "production", version: $v) { __typename ... on Error { message } } }',
        ),
        {"v": w.fresh_model_version()},
    ),
    "reviewModelVersion": lambda w, c: (
        Rule(
            "commenter",
            'mutation($id: ID!) { reviewModelVersion(id: $id, verdict: "approve") { __typename ... on Error { message } } }',
        ),
        {"id": w.model_version},
    ),
    "rerunModelChecks": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!) { rerunModelChecks(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.model_version},
    ),
    "startReview": lambda w, c: (
        Rule(
            "editor",
            'mutation($v: ID!) { startReview(versionId: $v, dataset: "readings", predictionColumn: "b", size: 1) { __typename ... on Error { message } } }',
        ),
        {"v": w.model_version},
    ),
    "judgeSample": lambda w, c: (
        Rule(
            "commenter",
            "mutation($id: ID!) { judgeSample(id: $id, position: 0, correct: true) { __typename ... on Error { message } } }",
        ),
        {"id": w.review},
    ),
    "closeReview": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!) { closeReview(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_review()},
    ),
    "publishReview": lambda w, c: (
        Rule(
            "editor",
            "mutation($id: ID!) { publishReview(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.review},
    ),
    "describeModel": lambda w, c: (
        Rule(
            "editor",
            'mutation { describeModel(project: "alpha", model: "matrix-model", description: "d") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "writeModelCard": lambda w, c: (
        Rule(
            "editor",
            'mutation { writeModelCard(project: "alpha", model: "matrix-model", section: "limitations", body: "b") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "createTask": lambda w, c: (
        Rule(
            "commenter",
            'mutation { createTask(project: "alpha", input: {title: "matrix"}) { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "updateTask": lambda w, c: (
        Rule(
            "commenter",
            'mutation($id: ID!) { updateTask(id: $id, input: {status: "doing"}) { __typename ... on Error { message } } }',
        ),
        {"id": w.task},
    ),
    "createWebhook": lambda w, c: (
        Rule(
            "maintainer",
            'mutation($url: String!) { createWebhook(project: "alpha", url: $url) { __typename ... on Error { message } } }',
        ),
        {"url": PUBLIC_URL},
    ),
    "enableWebhook": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { enableWebhook(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.webhook},
    ),
    "trash": lambda w, c: (
        Rule("viewer", '{ trash(project: "alpha") { id } }', non_empty),
        {"_": w.fresh_trash_entry()},
    ),
    "moveToTrash": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { moveToTrash(kind: RUN, id: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_run()},
    ),
    "restoreFromTrash": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { restoreFromTrash(entryId: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_trash_entry()},
    ),
    "purgeFromTrash": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { purgeFromTrash(entryId: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_trash_entry()},
    ),
    "collectGarbage": lambda w, c: (
        Rule("site_admin", "mutation { collectGarbage { __typename ... on Error { message } } }"),
        {},
    ),
    "erasureRequests": lambda w, c: (
        Rule("audit_reader", "{ erasureRequests { id state } }", lambda v, w: v is not None),
        {},
    ),
    "legalHolds": lambda w, c: (
        Rule("audit_reader", "{ legalHolds { id } }", lambda v, w: v is not None),
        {},
    ),
    "placeLegalHold": lambda w, c: (
        Rule(
            "audit_reader",
            'mutation($n: String!) { placeLegalHold(kind: PERSON, name: $n, reason: "matrix") '
            "{ __typename ... on Error { message } } }",
        ),
        {"n": w.fresh_person(c)},
    ),
    "releaseLegalHold": lambda w, c: (
        Rule(
            "audit_reader",
            "mutation($id: ID!) { releaseLegalHold(id: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_hold(c)},
    ),
    "exportPersonalData": lambda w, c: (
        Rule(
            "audit_reader",
            'mutation { exportPersonalData(name: "victim") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "erasePerson": lambda w, c: (
        Rule(
            "audit_reader",
            "mutation($n: String!) { erasePerson(name: $n) "
            "{ __typename ... on Error { message } } }",
        ),
        {"n": w.fresh_person(c)},
    ),
    "eraseDatasetRows": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { eraseDatasetRows(project: "alpha", dataset: "readings", '
            'filter: "a < 0") { __typename ... on Error { message } } }',
            passes_the_rules,  # allowed through, then told the filter matches nothing
        ),
        {},
    ),
    "retentionPolicy": lambda w, c: (
        Rule(  # null while alpha keeps everything; denied is an error
            "viewer", '{ retentionPolicy(project: "alpha") { keepTag } }', lambda v, w: True
        ),
        {},
    ),
    "setRetentionPolicy": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { setRetentionPolicy(project: "alpha", runsDays: 36500) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "deleteWebhook": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { deleteWebhook(id: $id) { __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_webhook()},
    ),
    "shareLinks": lambda w, c: (
        Rule("viewer", '{ shareLinks(project: "alpha") { id } }', lambda v, w: v is not None),
        {},
    ),
    "createShareLink": lambda w, c: (
        Rule(
            "editor",
            'mutation { createShareLink(input: {view: RESOURCE_USAGE, project: "alpha", '
            'title: "matrix"}) { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "revokeShareLink": lambda w, c: (
        Rule(
            "maintainer",
            "mutation($id: ID!) { revokeShareLink(id: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.fresh_share_link()},
    ),
    "createApiToken": lambda w, c: (
        Rule(
            "signed_in",
            'mutation { createApiToken(name: "matrix", expiresInDays: 1) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "revokeApiToken": lambda w, c: (
        Rule(
            "site_admin",
            "mutation($id: ID!) { revokeApiToken(id: $id) "
            "{ __typename ... on Error { message } } }",
        ),
        {"id": w.victim_token},
    ),
    "createUser": lambda w, c: (
        Rule(
            "site_admin",
            "mutation($n: String!) { createUser(name: $n) "
            "{ __typename ... on Error { message } } }",
        ),
        {"n": f"new-{c}"},
    ),
    "setUserDisabled": lambda w, c: (
        Rule(
            "site_admin",
            'mutation { setUserDisabled(name: "victim", disabled: false) '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "setPassword": lambda w, c: (
        Rule(
            "site_admin",
            'mutation { setPassword(name: "victim", password: "another-password-1") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "createGroup": lambda w, c: (
        Rule(
            "site_admin",
            "mutation($n: String!) { createGroup(name: $n) "
            "{ __typename ... on Error { message } } }",
        ),
        {"n": f"group-{c}"},
    ),
    "addGroupMember": lambda w, c: (
        Rule(
            "site_admin",
            'mutation { addGroupMember(group: "crew", user: "victim") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "removeGroupMember": lambda w, c: (
        Rule(
            "site_admin",
            'mutation { removeGroupMember(group: "crew", user: "victim") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
    "grantRole": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { grantRole(project: "alpha", kind: "user", name: "victim", '
            'role: "viewer") { __typename ... on Error { message } } }',
        ),
        {},
    ),
    "revokeRole": lambda w, c: (
        Rule(
            "maintainer",
            'mutation { revokeRole(project: "alpha", kind: "user", name: "victim") '
            "{ __typename ... on Error { message } } }",
        ),
        {},
    ),
}


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _person(store: Store, name: str, **flags: bool) -> Any:
    return _run(accounts.create_user(store, SYSTEM, name, None, **flags))  # tokens, no password


def _token_for(store: Store, user: Any, **scope: Any) -> str:
    principal = _run(tokens.principal_for_user(store, user, auth_method="session", auth_id=None))
    return _run(tokens.create_token(store, principal, "matrix", **scope))[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Every caller shares one client address; this test is not about rate limits.
    folder = tmp_path_factory.mktemp("matrix")
    for hub in in_process_hub(folder, demo=False, auth_failures_per_address="10000/minute"):
        store = hub.store
        alpha = _run(runs.create_run(store, SYSTEM, runs.NewRun("alpha", "e")))
        _run(runs.create_run(store, SYSTEM, runs.NewRun("beta", "e")))
        from tests.store.helpers import log_points

        log_points(store, alpha.id, {"loss": [1.0, 0.5]})
        uploaded = hub.http.post(
            "/api/v1/projects/alpha/datasets/readings/versions",
            params={"filename": "r.csv"},
            content=b"a,b\n1,2\n3,4\n",
            headers=hub.auth,
        )
        assert uploaded.status_code == 201, uploaded.text
        # publishAnnotations needs annotations whichever worker runs it, annotateRows or not.
        annotated = hub.http.post(
            "/graphql",
            json={
                "query": 'mutation { annotateRows(project: "alpha", dataset: "readings", '
                "version: 1, annotations: [{row: 1, vote: -1}]) { __typename } }"
            },
            headers=hub.auth,
        )
        assert annotated.json()["data"]["annotateRows"]["__typename"] == "Annotated", annotated.text
        callers: dict[str, tuple[str | None, set[str]]] = {"anonymous": (None, set())}
        for role in ROLE_LEVELS:
            user = _person(store, f"the-{role}")
            _run(access.grant_role(store, SYSTEM, "alpha", "user", user.name, role))
            callers[role] = (_token_for(store, user), ROLE_LEVELS[role])
        _run(access.grant_role(store, SYSTEM, "beta", "user", "the-admin", "admin"))
        admin = _run(store.users.by_name("the-admin"))
        callers["token-for-another-project"] = (
            _token_for(store, admin, projects=["beta"]),
            {"signed_in"},
        )
        outsider = _person(store, "outsider")
        callers["outsider"] = (_token_for(store, outsider), {"signed_in"})
        site = _person(store, "site-admin", is_admin=True)
        callers["site-admin"] = (_token_for(store, site), set(LEVELS))
        officer = _person(store, "officer", is_compliance=True)
        callers["compliance"] = (_token_for(store, officer), {"signed_in", "audit_reader"})
        expired = tokens.create_token_sync(
            store, site, "old", expires_at=now() - timedelta(hours=1)
        )
        callers["expired-token"] = (expired, set())
        revoked_record, revoked = _run(
            tokens.create_token(
                store,
                _run(tokens.principal_for_user(store, site, auth_method="session", auth_id=None)),
                "gone",
            )
        )
        _run(tokens.revoke_token(store, SYSTEM, revoked_record.id))
        callers["revoked-token"] = (revoked, set())
        victim = _person(store, "victim")
        victim_principal = _run(
            tokens.principal_for_user(store, victim, auth_method="session", auth_id=None)
        )
        victim_token = _run(tokens.create_token(store, victim_principal, "v"))[0].id
        _run(accounts.create_group(store, SYSTEM, "crew"))
        commenter = _run(store.users.by_name("the-commenter"))
        writer = _run(
            tokens.principal_for_user(store, commenter, auth_method="session", auth_id=None)
        )
        comment = _run(comments.add(store, writer, "run", alpha.id, "first"))
        hook = _run(webhooks.create(store, Settings(), SYSTEM, "alpha", PUBLIC_URL, []))
        task = _run(tasks.create(store, SYSTEM, "alpha", tasks.TaskInput(title="first")))
        _run(pages.save(store, SYSTEM, "alpha", "welcome", "Welcome", "Hello."))
        _run(
            store.cluster.record_job(
                ClusterJob(
                    "salon-matrix",
                    "RUNNING",
                    "python train.py",
                    "salon",
                    "alpha",
                    1,
                    1,
                    None,
                    "system",
                    now(),
                    None,
                    "",
                    now(),
                ),
                audit=[],
            )
        )
        _run(bookings.set_quota(store, SYSTEM, "project", "alpha", 1000))
        node = NodeSample(now(), "node-1", "10.0.0.5", True, 64, 0, 8, 0)
        _run(store.cluster.sampled([node], [], now(), 400))
        _, version, _ = _run(
            registration.register(store, SYSTEM, alpha.id, "matrix-model", "model.onnx")
        )
        review = _run(
            reviews.start(store, SYSTEM, version.id, "readings", "b", size=2, per_item=10)
        )
        _run(reviews.judge(store, SYSTEM, review.id, 1, False, "4"))
        yield World(
            hub,
            callers,
            alpha.id,
            victim_token,
            comment.id,
            hook.id,
            task.id,
            alpha.project_id,
            version.id,
            review.id,
        )


def test_every_field_has_a_rule() -> None:
    schema = build_schema()._schema
    fields = set(schema.query_type.fields) | set(schema.mutation_type.fields)
    assert set(RULES) == fields, (
        f"decide who may use {sorted(fields - set(RULES))} (and drop {sorted(set(RULES) - fields)})"
    )


@pytest.mark.parametrize("field", sorted(RULES))
def test_each_caller_gets_exactly_what_the_rule_allows(world: World, field: str) -> None:
    wrong = []
    for caller, (token, levels) in world.callers.items():
        rule, variables = RULES[field](world, caller)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = world.hub.http.post(
            "/graphql", json={"query": rule.document, "variables": variables}, headers=headers
        )
        if response.status_code in (401, 429):
            allowed = False
        else:
            body = response.json()
            value = (body.get("data") or {}).get(field)
            allowed = not body.get("errors") and rule.check(value, world)
        expected = rule.level in levels
        if allowed != expected:
            wrong.append(f"{caller}: {'allowed' if allowed else 'denied'} ({response.text[:200]})")
    assert not wrong, f"{field} (needs {RULES[field](world, 'x')[0].level}):\n" + "\n".join(wrong)
