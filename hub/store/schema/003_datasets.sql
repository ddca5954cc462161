-- Datasets: named, versioned tables inside a project. Applied at every start; safe twice.

CREATE TABLE IF NOT EXISTS datasets (
    id            VARCHAR NOT NULL,
    project_id    VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,            -- unique within its project (checked by the service)
    description   VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR NOT NULL
);

-- One immutable version: a manifest of content-addressed Parquet objects (dataset_files).
CREATE TABLE IF NOT EXISTS dataset_versions (
    id            VARCHAR NOT NULL,
    dataset_id    VARCHAR NOT NULL,
    project_id    VARCHAR NOT NULL,
    number        INTEGER NOT NULL,            -- 1, 2, 3 … within the dataset
    parent_id     VARCHAR,
    author        VARCHAR NOT NULL,
    message       VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    content_hash  VARCHAR NOT NULL,            -- SHA-256 over the manifest: equal content, equal hash
    row_count     BIGINT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    schema_json   VARCHAR NOT NULL,            -- [{"name", "type"}]
    profile_json  VARCHAR NOT NULL,            -- per column: nulls, distinct, min/max, mean, quantiles, top, histogram
    source        VARCHAR NOT NULL             -- what was uploaded: file name or the registered path
);

CREATE TABLE IF NOT EXISTS dataset_files (
    version_id    VARCHAR NOT NULL,
    position      INTEGER NOT NULL,
    object_hash   VARCHAR NOT NULL,            -- SHA-256 of the Parquet object under <data dir>/objects
    row_count     BIGINT NOT NULL,
    size_bytes    BIGINT NOT NULL
);

-- What owners say about a dataset's columns, and which ones hold personal data.
CREATE TABLE IF NOT EXISTS dataset_columns (
    dataset_id    VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    description   VARCHAR NOT NULL,
    pii           BOOLEAN NOT NULL,
    updated_by    VARCHAR NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- Lineage: which dataset versions a run read (input) or produced (output).
CREATE TABLE IF NOT EXISTS run_datasets (
    run_id       VARCHAR NOT NULL,
    version_id   VARCHAR NOT NULL,
    dataset_id   VARCHAR NOT NULL,
    project_id   VARCHAR NOT NULL,             -- the dataset's project (a run may read another's)
    direction    VARCHAR NOT NULL,             -- input | output
    recorded_at  TIMESTAMP NOT NULL
);

-- Annotations: people label or correct rows of a version (rows are numbered in the version's
-- Parquet object, which never changes). The latest annotation of a row counts; older ones stay.
CREATE TABLE IF NOT EXISTS dataset_annotations (
    version_id   VARCHAR NOT NULL,
    dataset_id   VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,
    label        VARCHAR,
    note         VARCHAR,
    vote         INTEGER,                      -- 1 thumbs up, -1 thumbs down, NULL none
    author       VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- A file registered in place (not copied): where it is (a path or an s3:// address), and its
-- size, modification time and S3 ETag when registered, so that a later change at the source is
-- noticed before it is read.
ALTER TABLE dataset_files ADD COLUMN IF NOT EXISTS location VARCHAR;
ALTER TABLE dataset_files ADD COLUMN IF NOT EXISTS source_mtime FLOAT8;
ALTER TABLE dataset_files ADD COLUMN IF NOT EXISTS source_etag VARCHAR;

-- When set, a new version must have exactly the latest version's columns and types.
ALTER TABLE datasets ADD COLUMN IF NOT EXISTS fixed_schema BOOLEAN;
