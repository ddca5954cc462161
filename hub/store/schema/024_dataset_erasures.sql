-- Erasing a data subject from a dataset: the rows a filter matches are removed from every
-- version (each affected version's object rewritten, its profile recomputed, its number and
-- lineage kept). The record says who asked, when, with which filter and how many rows left
-- each version; never the erased values.
CREATE TABLE IF NOT EXISTS dataset_erasures (
    id            VARCHAR NOT NULL,
    dataset_id    VARCHAR NOT NULL,
    project_id    VARCHAR NOT NULL,
    filter        VARCHAR NOT NULL,
    requested_by  VARCHAR NOT NULL,
    requested_at  TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    rows_json     VARCHAR NOT NULL              -- {"<version number>": rows removed}
);
