-- What the MLflow REST API needs beyond Salon's runs: files logged with a run or a logged
-- model (kept in the object store by content hash), MLflow 3's logged models, and the
-- datasets a run read or the models it wrote.

CREATE TABLE IF NOT EXISTS artifacts (
    owner_kind  VARCHAR NOT NULL,               -- run | logged_model
    owner_id    VARCHAR NOT NULL,
    path        VARCHAR NOT NULL,               -- relative, '/'-separated; one row per path
    digest      VARCHAR NOT NULL,               -- SHA-256 of the content (objects/ab/<digest>)
    size        BIGINT NOT NULL,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS logged_models (
    id             VARCHAR NOT NULL,            -- m-<hex>, as MLflow names them
    project_id     VARCHAR NOT NULL,
    experiment_id  VARCHAR NOT NULL,
    run_id         VARCHAR,                     -- the run that wrote it, when any
    name           VARCHAR NOT NULL,
    model_type     VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,            -- LOGGED_MODEL_PENDING | _READY | _UPLOAD_FAILED
    status_message VARCHAR NOT NULL,
    params         JSON NOT NULL,               -- {"key": "value"}
    tags           JSON NOT NULL,
    created_by     VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS run_inputs (
    run_id      VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    digest      VARCHAR NOT NULL,
    source_type VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,               -- JSON text, as the client sent it
    schema      VARCHAR NOT NULL,
    profile     VARCHAR NOT NULL,
    tags        JSON NOT NULL,                  -- e.g. {"mlflow.data.context": "training"}
    logged_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS run_outputs (
    run_id    VARCHAR NOT NULL,
    model_id  VARCHAR NOT NULL,
    step      BIGINT NOT NULL
);

-- Tags on a registered model (a version keeps its tags in model_versions.tags).
CREATE TABLE IF NOT EXISTS model_tags (
    model_id  VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    value     VARCHAR NOT NULL
);
