-- What MLflow clients rely on in the registry.
--
-- Model versions registered from outside Salon: MLflow lets a client register a version from a
-- source alone, or name a run id that is not a run of the model's project (an external
-- training system's, or another tracking server's). Such a version has no run (run_id NULL);
-- the id the client gave, if any, is kept as given (run_reference) and answered back to MLflow
-- clients, but never linked to a Salon run.
ALTER TABLE model_versions ALTER COLUMN run_id DROP NOT NULL;
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS run_reference VARCHAR;

-- When a model or a version last changed (renamed, described, a version added, an alias or
-- stage moved): MLflow's last_updated_timestamp. NULL: not changed since it was made.
ALTER TABLE models ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP;
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP;
