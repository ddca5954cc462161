-- Who wants a digest of what they missed, how often, in which time zone, and when it last went.
CREATE TABLE IF NOT EXISTS digest_settings (
    user_id       VARCHAR NOT NULL,
    frequency     VARCHAR NOT NULL,            -- off | daily | weekly
    time_zone     VARCHAR NOT NULL,            -- IANA name: times in the digest are shown in it
    last_sent_at  TIMESTAMP
);
