-- The order in which hubs sharing one database committed their changes, for the other hubs to
-- follow: each reads what the others committed after the last one it saw (its audit events and
-- feed entries) and passes it to its own listeners (live updates, webhook delivery). Written
-- only on a shared database; old rows are pruned.
CREATE TABLE IF NOT EXISTS commits (
    seq           BIGINT NOT NULL PRIMARY KEY,
    hub           VARCHAR NOT NULL,      -- the hub that committed it
    audit_from    BIGINT NOT NULL,       -- its audit events: seq audit_from to audit_to
    audit_to      BIGINT NOT NULL,       -- (audit_to < audit_from: none)
    activity_ids  VARCHAR[] NOT NULL,    -- its feed entries
    committed_at  TIMESTAMP NOT NULL
);
