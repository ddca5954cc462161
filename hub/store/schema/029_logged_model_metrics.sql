-- Metrics logged with a logged model (MLflow's log_metric(..., model_id=...), which autologging
-- and mlflow.evaluate use): each stays a point of its run too; here it is also the model's,
-- as MLflow's LoggedModel.metrics lists it.
CREATE TABLE IF NOT EXISTS logged_model_metrics (
    model_id        VARCHAR NOT NULL,
    run_id          VARCHAR,
    key             VARCHAR NOT NULL,
    value           DOUBLE NOT NULL,
    step            BIGINT NOT NULL,
    ts              BIGINT NOT NULL,            -- milliseconds since 1970, as logged
    dataset_name    VARCHAR,
    dataset_digest  VARCHAR
);
