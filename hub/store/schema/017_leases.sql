-- Periodic work that one hub does for all (sending digests, delivering webhooks, sampling the
-- cluster, driving model checks, scheduled backups): the hub holding a lease does it and renews
-- the lease each round; when it stops renewing (it died), another takes the lease over once it
-- has expired.
CREATE TABLE IF NOT EXISTS leases (
    name        VARCHAR NOT NULL PRIMARY KEY,
    holder      VARCHAR NOT NULL,      -- host, process and a random part: one running hub
    expires_at  TIMESTAMP NOT NULL
);
