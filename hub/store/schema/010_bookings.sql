-- Planning the GPU cluster together: quotas per project or team, and bookings of time slots.

CREATE TABLE IF NOT EXISTS gpu_quotas (
    scope_kind  VARCHAR NOT NULL,              -- project | team (a group)
    scope_id    VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,              -- the project's or team's name when set
    gpus        DOUBLE NOT NULL,               -- at most this many GPUs booked at once
    set_by      VARCHAR NOT NULL,
    set_at      TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS gpu_bookings (
    id              VARCHAR NOT NULL,
    project_id      VARCHAR NOT NULL,
    user_id         VARCHAR NOT NULL,
    gpus            DOUBLE NOT NULL,
    starts_at       TIMESTAMP NOT NULL,        -- UTC
    ends_at         TIMESTAMP NOT NULL,
    time_zone       VARCHAR NOT NULL,          -- the booker's zone, to show it as they wrote it
    note            VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    released_at     TIMESTAMP,
    release_reason  VARCHAR                    -- released | idle
);
