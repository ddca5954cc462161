-- Logged models a run read (MLflow's log_inputs(models=[LoggedModelInput(...)]), e.g. an
-- evaluation run): the counterpart of run_outputs.
CREATE TABLE IF NOT EXISTS run_model_inputs (
    run_id    VARCHAR NOT NULL,
    model_id  VARCHAR NOT NULL
);
