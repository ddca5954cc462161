-- Webhooks: a project's subscriptions to its activity, and the outbox of deliveries.

CREATE TABLE IF NOT EXISTS webhooks (
    id              VARCHAR NOT NULL,
    project_id      VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    secret          VARCHAR NOT NULL,          -- whsec_…: signs deliveries (Standard Webhooks)
    events          VARCHAR[] NOT NULL,        -- verb prefixes ("run.finish", "comment."); empty: all
    format          VARCHAR NOT NULL,          -- standard | slack
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    failures        INTEGER NOT NULL,          -- failed attempts in a row (reset by a success)
    disabled_at     TIMESTAMP,
    disabled_reason VARCHAR
);

-- One message per (webhook, activity entry), written in the transaction of the change it
-- announces, so a crash can neither lose it nor invent it. Its id is the webhook-id header:
-- receivers see the same id on every retry.
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id               VARCHAR NOT NULL,
    webhook_id       VARCHAR NOT NULL,
    activity_id      VARCHAR NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP,
    gave_up_at       TIMESTAMP,
    last_status      INTEGER,                  -- HTTP status of the last attempt
    last_error       VARCHAR
);
