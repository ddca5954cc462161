-- Erasing rows from a dataset is a request the hub carries out in the background: a large
-- dataset takes minutes, longer than a client waits for an answer. A request is queued when
-- it is checked (the filter parses, matches rows, no legal hold), running while the hub
-- rewrites the versions, then done (its record in dataset_erasures, written in the same
-- transaction) or failed with the reason. A hub that dies while one runs leaves it running:
-- the next hub to hold the work starts it again from the old state.
CREATE TABLE IF NOT EXISTS erasure_requests (
    id            VARCHAR NOT NULL,             -- the erasure's id, shared with its record
    dataset_id    VARCHAR NOT NULL,
    project_id    VARCHAR NOT NULL,
    filter        VARCHAR NOT NULL,
    requested_by  VARCHAR NOT NULL,
    requested_at  TIMESTAMP NOT NULL,
    state         VARCHAR NOT NULL,             -- queued | running | done | failed
    problem       VARCHAR,                      -- why it failed
    updated_at    TIMESTAMP NOT NULL
);

INSERT INTO erasure_requests
SELECT id, dataset_id, project_id, filter, requested_by, requested_at, 'done', NULL, finished_at
FROM dataset_erasures;
