-- Retention policies, one per project, set by its maintainers: the hub moves to the trash what
-- a policy says is no longer kept (finished runs older than runs_days unless tagged with
-- keep_tag; dataset versions beyond the newest versions_kept of each dataset), and purges it
-- after SALON_TRASH_DAYS like anything trashed. NULL: no limit.
CREATE TABLE IF NOT EXISTS retention_policies (
    project_id     VARCHAR NOT NULL,
    runs_days      INTEGER,
    keep_tag       VARCHAR NOT NULL,
    versions_kept  INTEGER,
    updated_by     VARCHAR NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    last_applied   TIMESTAMP
);
