"""What the trash knows of each kind of object, as SQL: what an object holds, what holds it,
what keeps it out, how to describe it, and which rows go with it when it is purged (in which
order). ``hub/store/trash.py`` does the work with these tables."""

from __future__ import annotations

# What an object holds: hidden with it by one entry (unless an entry of their own hid them).
HOLDS: dict[str, tuple[tuple[str, str], ...]] = {
    "project": (
        ("experiment", "SELECT id FROM experiments WHERE project_id = ?"),
        ("run", "SELECT id FROM runs WHERE project_id = ?"),
        ("dataset", "SELECT id FROM datasets WHERE project_id = ?"),
        ("dataset_version", "SELECT id FROM dataset_versions WHERE project_id = ?"),
        ("model", "SELECT id FROM models WHERE project_id = ?"),
        ("model_version", "SELECT id FROM model_versions WHERE project_id = ?"),
        ("page", "SELECT id FROM pages WHERE project_id = ?"),
        ("task", "SELECT id FROM tasks WHERE project_id = ?"),
    ),
    "run": (("page", "SELECT id FROM pages WHERE run_id = ?"),),  # its notebooks
    "experiment": (
        ("run", "SELECT id FROM runs WHERE experiment_id = ?"),
        (
            "page",
            "SELECT id FROM pages WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = ?)",
        ),
    ),
    "model": (("model_version", "SELECT id FROM model_versions WHERE model_id = ?"),),
    "dataset": (("dataset_version", "SELECT id FROM dataset_versions WHERE dataset_id = ?"),),
}

# What an object is in: it cannot come back while one of these is in the trash.
PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (
        ("project", "SELECT project_id FROM runs WHERE id = ?"),
        ("experiment", "SELECT experiment_id FROM runs WHERE id = ?"),
    ),
    "experiment": (("project", "SELECT project_id FROM experiments WHERE id = ?"),),
    "dataset": (("project", "SELECT project_id FROM datasets WHERE id = ?"),),
    "dataset_version": (
        ("project", "SELECT project_id FROM dataset_versions WHERE id = ?"),
        ("dataset", "SELECT dataset_id FROM dataset_versions WHERE id = ?"),
    ),
    "model": (("project", "SELECT project_id FROM models WHERE id = ?"),),
    "model_version": (
        ("project", "SELECT project_id FROM model_versions WHERE id = ?"),
        ("model", "SELECT model_id FROM model_versions WHERE id = ?"),
    ),
    "page": (
        ("project", "SELECT project_id FROM pages WHERE id = ?"),
        ("run", "SELECT run_id FROM pages WHERE id = ?"),
    ),
    "task": (("project", "SELECT project_id FROM tasks WHERE id = ?"),),
    "artifact": (
        ("project", "SELECT project_id FROM runs WHERE id = split_part(?, '/', 1)"),
        ("run", "SELECT split_part(?, '/', 1)"),
    ),
    "logged_model": (
        ("project", "SELECT project_id FROM logged_models WHERE id = ?"),
        ("experiment", "SELECT experiment_id FROM logged_models WHERE id = ?"),
    ),
    "project": (),
}

# What keeps an object out of the trash: (query, what to say), the query naming the reason.
GUARDS: dict[str, tuple[str, str]] = {
    "model_version": (
        "SELECT alias FROM model_aliases WHERE version_id = ? ORDER BY alias LIMIT 1",
        "alias {!r} points at it: move the alias to another version first",
    ),
}

# What else changes when an object goes to the trash or comes back (parameters: the time, the
# object's id): a model changed when one of its versions did (MLflow's last_updated_timestamp).
TOUCHES: dict[str, str] = {
    "model_version": "UPDATE models SET updated_at = ? "
    "WHERE id = (SELECT model_id FROM model_versions WHERE id = ?)",
}

# A run's file in the trash is named by the run's id and its path (ids have no "/").
ARTIFACT_ID = "a.owner_id || '/' || a.path"

# What the trash needs of an object: its project, what it is called, who made it.
DESCRIBE = {
    "project": "SELECT id, name, created_by FROM projects WHERE id = ?",
    "experiment": "SELECT project_id, name, created_by FROM experiments WHERE id = ?",
    "run": "SELECT project_id, name, created_by FROM runs WHERE id = ?",
    "dataset": "SELECT project_id, name, created_by FROM datasets WHERE id = ?",
    "dataset_version": "SELECT v.project_id, d.name || ' v' || v.number, v.author "
    "FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = ?",
    "model": "SELECT project_id, name, created_by FROM models WHERE id = ?",
    "model_version": "SELECT v.project_id, m.name || ' v' || v.number, v.created_by "
    "FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.id = ?",
    "page": "SELECT project_id, slug, created_by FROM pages WHERE id = ?",
    "task": "SELECT project_id, '#' || number || ' ' || title, created_by FROM tasks WHERE id = ?",
    "artifact": "SELECT r.project_id, r.name || ': ' || a.path, a.created_by FROM artifacts a "
    f"JOIN runs r ON r.id = a.owner_id WHERE a.owner_kind = 'run' AND {ARTIFACT_ID} = ?",
    "logged_model": "SELECT project_id, name, created_by FROM logged_models WHERE id = ?",
}

MODELS = "(SELECT id FROM models WHERE project_id IN {ids})"
MODEL_VERSIONS = "(SELECT id FROM model_versions WHERE project_id IN {ids})"

# Rows that go with a purged object, in the order they are deleted: (table, condition), where
# ``{ids}`` is the subquery of the purged objects' ids of that kind.
ROWS: dict[str, tuple[tuple[str, str], ...]] = {
    "logged_model": (
        ("logged_model_metrics", "model_id IN {ids}"),
        ("artifacts", "owner_kind = 'logged_model' AND owner_id IN {ids}"),
        ("run_outputs", "model_id IN {ids}"),
        ("run_model_inputs", "model_id IN {ids}"),
        ("logged_models", "id IN {ids}"),
    ),
    "artifact": (
        ("artifacts", f"owner_kind = 'run' AND {ARTIFACT_ID.replace('a.', '')} IN {{ids}}"),
    ),
    "run": (
        ("params", "run_id IN {ids}"),
        ("tags", "run_id IN {ids}"),
        ("ingest_batches", "run_id IN {ids}"),
        ("run_inputs", "run_id IN {ids}"),
        ("run_outputs", "run_id IN {ids}"),
        ("run_model_inputs", "run_id IN {ids}"),
        ("run_datasets", "run_id IN {ids}"),
        ("metric_summaries", "run_id IN {ids}"),
        ("artifacts", "owner_kind = 'run' AND owner_id IN {ids}"),
        ("runs", "id IN {ids}"),
    ),
    "experiment": (
        (
            "artifacts",
            "owner_kind = 'logged_model' AND owner_id IN "
            "(SELECT id FROM logged_models WHERE experiment_id IN {ids})",
        ),
        (
            "logged_model_metrics",
            "model_id IN (SELECT id FROM logged_models WHERE experiment_id IN {ids})",
        ),
        ("logged_models", "experiment_id IN {ids}"),
        ("experiment_tags", "experiment_id IN {ids}"),
        ("experiments", "id IN {ids}"),
    ),
    "dataset_version": (
        ("dataset_files", "version_id IN {ids}"),
        ("dataset_annotations", "version_id IN {ids}"),
        ("run_datasets", "version_id IN {ids}"),
        ("dataset_versions", "id IN {ids}"),
    ),
    "dataset": (
        ("dataset_columns", "dataset_id IN {ids}"),
        ("restrictions", "object_kind = 'dataset' AND object_id IN {ids}"),
        ("datasets", "id IN {ids}"),
    ),
    "model_version": (
        (
            "review_judgements",
            "queue_id IN (SELECT id FROM review_queues WHERE version_id IN {ids})",
        ),
        ("review_items", "queue_id IN (SELECT id FROM review_queues WHERE version_id IN {ids})"),
        ("review_queues", "version_id IN {ids}"),
        ("model_checks", "version_id IN {ids}"),
        ("model_reviews", "version_id IN {ids}"),
        ("model_alias_moves", "version_id IN {ids} OR previous_id IN {ids}"),
        ("model_aliases", "version_id IN {ids}"),
        ("model_versions", "id IN {ids}"),
    ),
    "page": (
        ("page_versions", "page_id IN {ids}"),
        ("pages", "id IN {ids}"),
    ),
    "task": (
        ("task_links", "task_id IN {ids}"),
        ("tasks", "id IN {ids}"),
    ),
    "model": (
        ("model_aliases", "model_id IN {ids}"),
        ("model_alias_moves", "model_id IN {ids}"),
        ("model_card_sections", "model_id IN {ids}"),
        ("model_policies", "model_id IN {ids}"),
        ("model_tags", "model_id IN {ids}"),
        ("restrictions", "object_kind = 'model' AND object_id IN {ids}"),
        ("models", "id IN {ids}"),
    ),
    "project": (
        ("model_checks", f"version_id IN {MODEL_VERSIONS}"),
        ("model_reviews", f"version_id IN {MODEL_VERSIONS}"),
        ("model_aliases", f"model_id IN {MODELS}"),
        ("model_alias_moves", f"model_id IN {MODELS}"),
        ("model_card_sections", f"model_id IN {MODELS}"),
        ("model_policies", f"model_id IN {MODELS}"),
        ("model_tags", f"model_id IN {MODELS}"),
        ("model_versions", "project_id IN {ids}"),
        ("models", "project_id IN {ids}"),
        ("page_versions", "page_id IN (SELECT id FROM pages WHERE project_id IN {ids})"),
        ("pages", "project_id IN {ids}"),
        ("task_links", "task_id IN (SELECT id FROM tasks WHERE project_id IN {ids})"),
        ("tasks", "project_id IN {ids}"),
        ("review_items", "queue_id IN (SELECT id FROM review_queues WHERE project_id IN {ids})"),
        (
            "review_judgements",
            "queue_id IN (SELECT id FROM review_queues WHERE project_id IN {ids})",
        ),
        ("review_queues", "project_id IN {ids}"),
        ("webhook_outbox", "webhook_id IN (SELECT id FROM webhooks WHERE project_id IN {ids})"),
        ("webhooks", "project_id IN {ids}"),
        (
            "artifacts",
            "owner_kind = 'logged_model' AND owner_id IN "
            "(SELECT id FROM logged_models WHERE project_id IN {ids})",
        ),
        (
            "logged_model_metrics",
            "model_id IN (SELECT id FROM logged_models WHERE project_id IN {ids})",
        ),
        ("logged_models", "project_id IN {ids}"),
        ("share_links", "project_id IN {ids}"),
        ("gpu_bookings", "project_id IN {ids}"),
        ("feed_marks", "project_id IN {ids}"),
        ("restrictions", "project_id IN {ids}"),
        ("memberships", "project_id IN {ids}"),
        ("projects", "id IN {ids}"),
    ),
}
PURGE_ORDER = (
    "artifact",
    "logged_model",
    "page",
    "task",
    "run",
    "experiment",
    "dataset_version",
    "dataset",
    "model_version",
    "model",
    "project",
)

# What people said about an object, and followed of it, goes with it: ``{comments}`` picks
# the comments, ``{activity}`` the feed's entries, ``{about}`` watches and task links.
ABOUT = (
    ("comment_edits", "comment_id IN (SELECT id FROM comments WHERE {comments})"),
    ("comment_reactions", "comment_id IN (SELECT id FROM comments WHERE {comments})"),
    ("comment_mentions", "comment_id IN (SELECT id FROM comments WHERE {comments})"),
    ("comments", "{comments}"),
    ("notifications", "activity_id IN (SELECT id FROM activity WHERE {activity})"),
    ("webhook_outbox", "activity_id IN (SELECT id FROM activity WHERE {activity})"),
    ("activity", "{activity}"),
    ("watches", "{about}"),
    ("task_links", "{about}"),
)
