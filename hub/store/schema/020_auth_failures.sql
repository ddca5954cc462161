-- Failed sign-ins and token guesses of the last minutes, by key (address:1.2.3.4, account:ada),
-- counted by every hub sharing a database: a client that spreads its guesses over the hubs
-- behind a load balancer gets no more of them than from one hub. Used on the shared backend
-- only (an embedded hub counts in memory); rows older than the longest window are removed.
CREATE TABLE IF NOT EXISTS auth_failures (
    key        VARCHAR NOT NULL,
    failed_at  TIMESTAMP NOT NULL
);
