-- The GPU cluster as Salon saw it: nodes sampled over time, and every job it has run.

-- One row per node per sample: what it had and what was in use.
CREATE TABLE IF NOT EXISTS cluster_samples (
    sampled_at  TIMESTAMP NOT NULL,
    node_id     VARCHAR NOT NULL,
    address     VARCHAR NOT NULL,
    alive       BOOLEAN NOT NULL,
    cpus        DOUBLE NOT NULL,
    cpus_used   DOUBLE NOT NULL,
    gpus        DOUBLE NOT NULL,
    gpus_used   DOUBLE NOT NULL
);

-- Every job seen on the cluster (or submitted through Salon), kept after Ray forgets it.
CREATE TABLE IF NOT EXISTS cluster_jobs (
    submission_id  VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,           -- PENDING | RUNNING | SUCCEEDED | FAILED | STOPPED
    entrypoint     VARCHAR NOT NULL,
    user_name      VARCHAR NOT NULL,           -- from the job's metadata; 'unknown' when absent
    project        VARCHAR,                    -- a Salon project's name, from the metadata
    gpus           DOUBLE NOT NULL,            -- what the job asked for (0 when unknown)
    cpus           DOUBLE NOT NULL,
    run_id         VARCHAR,
    submitted_by   VARCHAR,                    -- a Salon user id, when submitted through Salon
    started_at     TIMESTAMP,
    ended_at       TIMESTAMP,
    message        VARCHAR NOT NULL,
    last_seen      TIMESTAMP NOT NULL
);

-- Whether the last look at the cluster worked (one row per look; old ones are pruned).
CREATE TABLE IF NOT EXISTS cluster_checks (
    checked_at  TIMESTAMP NOT NULL,
    ok          BOOLEAN NOT NULL,
    error       VARCHAR
);

-- What the nodes report of their GPUs' work (mean utilisation %, memory in MiB), when they do.
ALTER TABLE cluster_samples ADD COLUMN IF NOT EXISTS gpu_utilization FLOAT8;
ALTER TABLE cluster_samples ADD COLUMN IF NOT EXISTS gpu_memory_used_mb FLOAT8;
ALTER TABLE cluster_samples ADD COLUMN IF NOT EXISTS gpu_memory_total_mb FLOAT8;
-- Ray's name for the node (its host name when set, else its address) and whether it is the head.
ALTER TABLE cluster_samples ADD COLUMN IF NOT EXISTS name VARCHAR;
ALTER TABLE cluster_samples ADD COLUMN IF NOT EXISTS is_head BOOLEAN;
