-- The trash. One entry per thing a person moved there (a run, an experiment, a project, a
-- dataset or one of its versions), listed per project; and every object each entry hides:
-- the thing itself and what it holds (an experiment's runs, a dataset's versions, a project's
-- experiments, runs, datasets and versions), unless an entry of its own hid it first. Lists,
-- searches, feeds and share links leave hidden objects out. Restoring deletes the entry, and
-- its objects come back whole; purging deletes their rows, then the entry.
CREATE TABLE IF NOT EXISTS trash (
    id          VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,               -- run | experiment | project | dataset | dataset_version
    object_id   VARCHAR NOT NULL,
    project_id  VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,               -- what it was called, for the trash's list
    trashed_by  VARCHAR NOT NULL,               -- the person's name
    trashed_at  TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS trashed (
    entry_id   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    object_id  VARCHAR NOT NULL
);

-- Metric series whose points a purge removed from PostgreSQL's view but that the DuckLake (a
-- shared database's points) still holds: removed from the lake after the purge commits, and
-- again by the next purge if a hub died in between. Unused in a DuckDB file.
CREATE TABLE IF NOT EXISTS purged_series (
    series_id  BIGINT NOT NULL
);
