-- Share links: read-only, expiring, revocable links to one view of one object, for wiki
-- iframes and people without an account. The secret is kept as its SHA-256 only.

CREATE TABLE IF NOT EXISTS share_links (
    id              VARCHAR NOT NULL,
    token_hash      VARCHAR NOT NULL,
    project_id      VARCHAR NOT NULL,
    view            VARCHAR NOT NULL,           -- run_comparison | metric_chart | dataset_profile | …
    object_id       VARCHAR NOT NULL,           -- the run, dataset version, model version … shown
    arguments       VARCHAR NOT NULL,           -- JSON: what the view shows (runs, metrics, days)
    title           VARCHAR NOT NULL,
    created_by      VARCHAR NOT NULL,
    created_by_name VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    signed_in_only  BOOLEAN NOT NULL,           -- only people with an account may look
    revoked_at      TIMESTAMP,
    revoked_by      VARCHAR,
    last_viewed_at  TIMESTAMP
);
