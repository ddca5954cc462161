-- Salon core tables: projects, experiments, runs and their params, tags and metrics.
-- Applied at every start; each statement is safe to apply twice. Ids are UUIDv7 strings made
-- by the application; no correctness depends on constraints or indexes (DuckLake has neither).

CREATE TABLE IF NOT EXISTS projects (
    id          VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS experiments (
    id          VARCHAR NOT NULL,
    project_id  VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    id             VARCHAR NOT NULL,
    project_id     VARCHAR NOT NULL,
    experiment_id  VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,          -- running, finished, failed, killed
    user_name      VARCHAR NOT NULL,
    notes          VARCHAR NOT NULL DEFAULT '',
    started_at     TIMESTAMP NOT NULL,
    ended_at       TIMESTAMP,
    git_commit     VARCHAR,
    git_dirty      BOOLEAN,
    command        VARCHAR,
    python_version VARCHAR,
    host           VARCHAR,
    packages       VARCHAR,                   -- JSON list of "name==version"
    created_by     VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS params (
    run_id VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    value  VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS tags (
    run_id VARCHAR NOT NULL,
    key    VARCHAR NOT NULL,
    value  VARCHAR NOT NULL
);

-- One row per logged point; ts is milliseconds since the Unix epoch (as MLflow). A series is
-- one metric of one run; its id (see metric_summaries) keeps this table narrow and fast to
-- append to, and starts with the run's start time so that row groups prune well.
CREATE TABLE IF NOT EXISTS metrics (
    series_id BIGINT NOT NULL,
    step      BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    value     DOUBLE NOT NULL
);

-- One row per series (run and key): its id, the latest point and the range, kept up to date on
-- ingest so that run search and sorting never scan the metrics table.
CREATE TABLE IF NOT EXISTS metric_summaries (
    series_id   BIGINT NOT NULL,
    run_id      VARCHAR NOT NULL,
    key         VARCHAR NOT NULL,
    last_step   BIGINT NOT NULL,
    last_ts     BIGINT NOT NULL,
    last_value  DOUBLE NOT NULL,
    min_value   DOUBLE NOT NULL,
    max_value   DOUBLE NOT NULL,
    min_step    BIGINT NOT NULL,
    point_count BIGINT NOT NULL
);

-- Batches already stored, so a client retrying after a lost response never stores twice.
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id    VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    point_count BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS api_tokens (
    id          VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    token_hash  VARCHAR NOT NULL,             -- SHA-256 of the secret; the secret is never stored
    user_name   VARCHAR NOT NULL,
    is_admin    BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP
);
