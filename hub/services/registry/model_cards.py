"""Model cards: a version's card generated from what Salon tracked, plus what its owners write.

Generated: what the model is and where its weights are, the run it came from (with its
settings), the data it was trained on and evaluated with, its metrics, the human review of its
predictions (overall and per slice of the reviewed rows), its checks, approvals and where its
aliases point. Written by the owners (editors), per model: intended use, out-of-scope uses,
limitations, ethical considerations, how to use it. The card is Markdown, ready to export.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from hub.clock import now
from hub.domain.audit import EventDraft
from hub.domain.registry import ModelVersionRecord, ReviewQueue
from hub.domain.tracking import RunRecord
from hub.errors import InvalidInput, LimitExceeded
from hub.services.data import datasets
from hub.services.policy import audit
from hub.services.policy.permissions import READ, WRITE
from hub.services.policy.principal import Principal
from hub.services.registry import models, promotion, reviews
from hub.services.registry.review_stats import majority
from hub.services.tracking import lineage
from hub.store import Store

SECTIONS = {  # key: title, in the order they appear
    "intended_use": "Intended use",
    "out_of_scope": "Out-of-scope uses",
    "limitations": "Limitations",
    "ethics": "Ethical considerations",
    "how_to_use": "How to use it",
}
MAX_SECTION = 20_000
MAX_SLICE_VALUES = 12  # a column with more distinct values is not a slice


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    markdown: str
    editable: bool  # written by the owners; the others are generated


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    model: str
    version: int
    sections: list[Section]

    @property
    def markdown(self) -> str:
        parts = [f"# Model card: {self.model}, version {self.version}"]
        for section in self.sections:
            body = section.markdown.strip() or "_Not written yet._"
            parts.append(f"## {section.title}\n\n{body}")
        return "\n\n".join(parts) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


async def _slices(store: Store, queue: ReviewQueue) -> str:
    """Human-judged accuracy per value of each column of the reviewed rows with few values."""
    judgements = await store.reviews.judgements([queue.id])
    rows = await store.reviews.items(queue.id)
    verdicts: dict[int, list[bool]] = defaultdict(list)
    for judgement in judgements:
        verdicts[rows[judgement.position]].append(judgement.correct)
    said = {row: majority(v) for row, v in verdicts.items()}
    decided = {row: ok for row, ok in said.items() if ok is not None}
    if not decided:
        return ""
    record = (await store.datasets.versions_by_ids([queue.dataset_version_id]))[
        queue.dataset_version_id
    ]
    names = [
        c.name for c in record.schema if c.name not in (queue.prediction_column, queue.truth_column)
    ]
    notes = await store.datasets.notes(record.dataset_id)
    names = [n for n in names if not (notes.get(n) and notes[n].pii)]  # never slice by PII
    paths = await datasets.paths_of(store, await store.datasets.files(record.id))
    values = await store.datasets.rows_at(paths, names, sorted(decided))
    parts = []
    for index, name in enumerate(names):
        groups: dict[str, list[bool]] = defaultdict(list)
        for row, ok in decided.items():
            groups[str(values[row][index])].append(ok)
        if not 2 <= len(groups) <= MAX_SLICE_VALUES:
            continue
        table = [
            [value, len(oks), f"{sum(oks) / len(oks):.0%}"] for value, oks in sorted(groups.items())
        ]
        parts.append(f"By {name}:\n\n" + _table([name, "samples", "judged correct"], table))
    return "\n\n".join(parts)


async def _training(
    store: Store, principal: Principal, version: ModelVersionRecord, run: RunRecord | None
) -> tuple[list[str], list[str], str]:
    """How the version was trained, on what data, and its run's metrics; a version registered
    from outside Salon has no run to tell of."""
    if run is None:
        named = f" (its run id there: `{version.run_reference}`)" if version.run_reference else ""
        return [f"Trained outside Salon{named}; registered from its source alone."], [], "_None._"
    params = await store.runs.params_for([run.id])
    trained = [f"Run **{run.name}** ({run.status.lower()}, started {run.started_at:%Y-%m-%d})."]
    if params:
        trained.append(_table(["setting", "value"], [[p.key, p.value] for p in params]))
    used = (await lineage.data_of_runs(store, principal, [run])).get(run.id, [])
    data = [
        f"- {u.use.direction}: **{u.dataset.name}** version {u.version.number} "
        f"({u.version.row_count:,} rows)"
        for u in used
    ]
    summaries = await store.metrics.summaries([run.id])
    metrics = "_None logged._"
    if summaries:
        metrics = _table(
            ["metric", "last", "min", "max", "points"],
            [
                [
                    m.key,
                    f"{m.last_value:.6g}",
                    f"{m.min_value:.6g}",
                    f"{m.max_value:.6g}",
                    m.point_count,
                ]
                for m in summaries
            ],
        )
    return trained, data, metrics


async def _generated(
    store: Store, principal: Principal, version: ModelVersionRecord, found: models.FoundModel
) -> list[Section]:
    run = (await store.runs.by_ids([version.run_id]))[version.run_id] if version.run_id else None
    people = {u.id: u.name for u in (await store.users.by_ids([version.created_by])).values()}
    aliases = [
        a.alias
        for a in await store.models.aliases([version.model_id])
        if a.version_id == version.id
    ]
    about = [
        f"**{found.model.name}** version {version.number} in project {found.project.name}, "
        f"registered by {people.get(version.created_by, 'salon')} on "
        f"{version.created_at:%Y-%m-%d}.",
        f"Weights: `{version.source}`." + (f" Now: {', '.join(aliases)}." if aliases else ""),
    ]
    if found.model.description or version.description:
        about.append("\n\n".join(d for d in (found.model.description, version.description) if d))
    trained, data, metrics = await _training(store, principal, version, run)
    queues = await store.reviews.of_versions([version.id])
    counted = await reviews.tallies(store, queues)
    review_parts = []
    for queue in queues:
        t = counted[queue.id]
        table = (await store.datasets.versions_by_ids([queue.dataset_version_id]))[
            queue.dataset_version_id
        ]
        dataset = (await store.datasets.by_ids([table.dataset_id]))[table.dataset_id]
        data.append(
            f"- evaluated on: **{dataset.name}** version {table.number} "
            f"({table.row_count:,} rows), {t.samples} sampled for review"
        )
        line = (
            f"Reviewers judged **{t.accuracy:.0%}** of {t.decided} samples correct (95 % "
            f"interval {t.low:.0%} to {t.high:.0%})"
            if t.accuracy is not None
            else f"No sample decided yet of {t.samples}"
        )
        agree = "" if t.agreement is None else f"; they agreed on {t.agreement:.0%} of samples"
        kappa = "" if t.kappa is None else f" (Fleiss' kappa {t.kappa:.2f})"
        review_parts.append(f"{line}{agree}{kappa}; {t.judgements} verdicts in all.")
        if sliced := await _slices(store, queue):
            review_parts.append(sliced)
    checks = await store.models.checks([version.id])
    gate = await promotion.gate(store, version, checks)
    approvers = await store.users.by_ids(list(gate.approved_by))
    check_rows = [[c.spec.title, c.status, c.detail] for c in checks]
    approvals = (
        f"Approved by {', '.join(sorted(u.name for u in approvers.values()))}."
        if approvers
        else "Not approved yet."
    )
    if gate.reasons:
        approvals += f" Still missing: {'; '.join(gate.reasons)}."
    checked = _table(["check", "status", "detail"], check_rows) + "\n\n" if check_rows else ""
    no_data = "_No dataset recorded for its run._"
    return [
        Section("model", "The model", "\n\n".join(about), False),
        Section("training", "How it was trained", "\n\n".join(trained), False),
        Section("data", "Training and evaluation data", "\n".join(data) or no_data, False),
        Section("metrics", "Metrics", metrics, False),
        Section(
            "review",
            "Human review of its predictions",
            "\n\n".join(review_parts) or "_Not reviewed yet._",
            False,
        ),
        Section("checks", "Checks and approvals", checked + approvals, False),
    ]


async def card(store: Store, principal: Principal, version_id: str) -> Card:
    """The version's card (readers of the project)."""
    version, found = await models.find_version(store, principal, version_id, READ, "model.card")
    written = await store.models.card_sections(version.model_id)
    sections = await _generated(store, principal, version, found)
    owned = [Section(key, title, written.get(key, ""), True) for key, title in SECTIONS.items()]
    await audit.read(
        store, principal, "model.card", "model_version", version.id, version.project_id, 1
    )
    return Card(
        found.model.name, version.number, sections[:1] + owned[:2] + sections[1:] + owned[2:]
    )


async def write(
    store: Store, principal: Principal, project: str, name: str, section: str, body: str
) -> Section:
    """An owner-written section of the model's card (editors)."""
    found = await models.find(store, principal, project, name, WRITE, "model.card")
    if section not in SECTIONS:
        raise InvalidInput(f"The card's sections are {', '.join(SECTIONS)}.", field="section")
    if len(body) > MAX_SECTION:
        raise LimitExceeded(f"A section is at most {MAX_SECTION:,} characters.", field="body")
    events: list[EventDraft] = [
        audit.event(principal, "model.card", "model", found.model.id, found.project.id)
    ]
    await store.models.set_card_section(
        found.model.id, section, body.strip(), principal.user_id, now(), audit=events
    )
    return Section(section, SECTIONS[section], body.strip(), True)
