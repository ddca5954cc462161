-- The model registry: models, their versions (each from a run), aliases such as "production",
-- the promotion policy that guards aliases, the checks each version must pass, and reviewers'
-- verdicts.

CREATE TABLE IF NOT EXISTS models (
    id           VARCHAR NOT NULL,
    project_id   VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,              -- unique within the project
    description  VARCHAR NOT NULL,              -- Markdown
    created_by   VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS model_versions (
    id            VARCHAR NOT NULL,
    model_id      VARCHAR NOT NULL,
    project_id    VARCHAR NOT NULL,
    number        INTEGER NOT NULL,             -- 1, 2 … within the model
    run_id        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,             -- where the weights are: a path in the run or a URI
    description   VARCHAR NOT NULL,
    tags          JSON NOT NULL,                -- {"key": "value"}
    input_schema  JSON,                         -- [{"name", "type"}], when given
    policy        JSON NOT NULL,                -- the model's policy when this version came
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS model_policies (
    model_id    VARCHAR NOT NULL,
    policy      JSON NOT NULL,                  -- protected aliases, checks, approvals, auto-move
    updated_by  VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS model_aliases (
    model_id    VARCHAR NOT NULL,
    alias       VARCHAR NOT NULL,
    version_id  VARCHAR NOT NULL,
    moved_by    VARCHAR NOT NULL,
    moved_at    TIMESTAMP NOT NULL
);

-- Every move of an alias, kept: what is where, and who moved it when.
CREATE TABLE IF NOT EXISTS model_alias_moves (
    id           VARCHAR NOT NULL,
    model_id     VARCHAR NOT NULL,
    alias        VARCHAR NOT NULL,
    version_id   VARCHAR,                       -- NULL: the alias was removed
    previous_id  VARCHAR,
    moved_by     VARCHAR NOT NULL,
    moved_at     TIMESTAMP NOT NULL,
    automatic    BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS model_checks (
    id          VARCHAR NOT NULL,
    version_id  VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    kind        VARCHAR NOT NULL,               -- metric | no_worse | schema | job
    spec        JSON NOT NULL,
    status      VARCHAR NOT NULL,               -- queued | running | passed | failed
    detail      VARCHAR NOT NULL,               -- why it passed or failed, in words
    job_id      VARCHAR,                        -- the Ray job of a job check
    log         VARCHAR NOT NULL,               -- the end of that job's log
    started_at  TIMESTAMP,
    ended_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS model_reviews (
    id          VARCHAR NOT NULL,
    version_id  VARCHAR NOT NULL,
    user_id     VARCHAR NOT NULL,
    verdict     VARCHAR NOT NULL,               -- approve | request_changes
    body        VARCHAR NOT NULL,               -- Markdown
    reviewed_at TIMESTAMP NOT NULL
);
