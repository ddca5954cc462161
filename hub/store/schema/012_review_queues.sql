-- Review queues: people judge a model version's predictions, sample by sample.

CREATE TABLE IF NOT EXISTS review_queues (
    id                  VARCHAR NOT NULL,
    version_id          VARCHAR NOT NULL,       -- the model version whose predictions these are
    project_id          VARCHAR NOT NULL,
    dataset_version_id  VARCHAR NOT NULL,       -- the predictions table (inputs, prediction, truth)
    prediction_column   VARCHAR NOT NULL,
    truth_column        VARCHAR,
    labels              JSON NOT NULL,          -- the labels a reviewer may choose from
    per_item            INTEGER NOT NULL,       -- judgements wanted per sample
    instructions        VARCHAR NOT NULL,       -- Markdown, shown to reviewers
    created_by          VARCHAR NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    closed_at           TIMESTAMP
);

CREATE TABLE IF NOT EXISTS review_items (
    queue_id    VARCHAR NOT NULL,
    position    INTEGER NOT NULL,               -- the order reviewers see them in
    row_number  BIGINT NOT NULL                 -- the row of the predictions table
);

CREATE TABLE IF NOT EXISTS review_judgements (
    id          VARCHAR NOT NULL,
    queue_id    VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    user_id     VARCHAR NOT NULL,
    correct     BOOLEAN NOT NULL,
    label       VARCHAR,                        -- the right label, when the prediction is wrong
    comment     VARCHAR NOT NULL,
    judged_at   TIMESTAMP NOT NULL
);
