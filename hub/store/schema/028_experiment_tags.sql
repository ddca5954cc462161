-- Tags on experiments (MLflow's create_experiment(tags=...), set_experiment_tag): a key holds
-- one value per experiment.
CREATE TABLE IF NOT EXISTS experiment_tags (
    experiment_id  VARCHAR NOT NULL,
    key            VARCHAR NOT NULL,
    value          VARCHAR NOT NULL
);
