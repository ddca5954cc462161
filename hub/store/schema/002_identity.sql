-- Identity, access and the audit trail. Applied at every start; safe to apply twice.

CREATE TABLE IF NOT EXISTS users (
    id             VARCHAR NOT NULL,          -- UUIDv7; the pseudonymous id the audit trail records
    name           VARCHAR NOT NULL,          -- sign-in name, unique (checked by the service)
    display_name   VARCHAR NOT NULL,
    email          VARCHAR,
    password_hash  VARCHAR,                   -- argon2id; NULL for people from an outside provider
    is_admin       BOOLEAN NOT NULL,          -- site admin: every project, every setting
    is_compliance  BOOLEAN NOT NULL,          -- may read the audit trail
    issuer         VARCHAR,                   -- outside provider's issuer, for its people
    subject        VARCHAR,                   -- their `sub` there
    created_at     TIMESTAMP NOT NULL,
    disabled_at    TIMESTAMP
);

CREATE TABLE IF NOT EXISTS groups (
    id           VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,            -- also matched against an outside provider's group claim
    description  VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS group_members (
    group_id  VARCHAR NOT NULL,
    user_id   VARCHAR NOT NULL,
    added_at  TIMESTAMP NOT NULL
);

-- A role on a project for a person or a group. `pii` grants seeing columns tagged PII.
CREATE TABLE IF NOT EXISTS memberships (
    project_id    VARCHAR NOT NULL,
    subject_kind  VARCHAR NOT NULL,           -- 'user' | 'group'
    subject_id    VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,           -- viewer | commenter | editor | maintainer | admin
    pii           BOOLEAN NOT NULL,
    granted_by    VARCHAR NOT NULL,
    granted_at    TIMESTAMP NOT NULL
);

-- An object inside a project visible only to members of these groups (and project admins).
CREATE TABLE IF NOT EXISTS restrictions (
    project_id   VARCHAR NOT NULL,
    object_kind  VARCHAR NOT NULL,
    object_id    VARCHAR NOT NULL,
    group_id     VARCHAR NOT NULL
);

-- Personal API tokens belong to a person and may be narrowed to projects and to reading.
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS user_id VARCHAR;
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS scope_projects VARCHAR[];   -- NULL: every project
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS scope_write BOOLEAN;

-- The built-in OpenID Connect provider: registered clients, codes and refresh tokens.
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id           VARCHAR NOT NULL,
    client_secret_hash  VARCHAR,              -- SHA-256; NULL for public clients (PKCE only)
    name                VARCHAR NOT NULL,
    redirect_uris       VARCHAR[] NOT NULL,
    created_at          TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS oauth_codes (
    code_hash              VARCHAR NOT NULL,
    client_id              VARCHAR NOT NULL,
    user_id                VARCHAR NOT NULL,
    redirect_uri           VARCHAR NOT NULL,
    scope                  VARCHAR NOT NULL,
    nonce                  VARCHAR,
    code_challenge         VARCHAR,
    code_challenge_method  VARCHAR,
    auth_time              TIMESTAMP NOT NULL,
    expires_at             TIMESTAMP NOT NULL
);

-- A sign-in session at the built-in provider: what its access tokens (claim `sid`) and its
-- current refresh token belong to. Logging out or disabling the person revokes it.
CREATE TABLE IF NOT EXISTS sessions (
    id            VARCHAR NOT NULL,
    user_id       VARCHAR NOT NULL,
    client_id     VARCHAR NOT NULL,
    scope         VARCHAR NOT NULL,
    refresh_hash  VARCHAR,                    -- SHA-256 of the current refresh token (rotated)
    auth_time     TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);

-- The audit trail: one row per access or change, written in the same transaction as the
-- action. `hash` is SHA-256 over `prev_hash` and the event's fields, so an edited, deleted or
-- reordered event breaks the chain; signed checkpoints outside this file catch truncation.
-- Never the data itself, never secrets.
CREATE TABLE IF NOT EXISTS audit_events (
    seq          BIGINT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    actor_id     VARCHAR NOT NULL,            -- user id (pseudonymous), or 'anonymous' / 'system'
    auth_method  VARCHAR NOT NULL,            -- token | session | link | system | none
    auth_id      VARCHAR,                     -- token id, session id or share link id
    address      VARCHAR,
    action       VARCHAR NOT NULL,            -- e.g. runs.search, run.create, token.revoke
    object_kind  VARCHAR NOT NULL,
    object_id    VARCHAR,
    project_id   VARCHAR,
    outcome      VARCHAR NOT NULL,            -- allow | deny | error
    row_count    BIGINT,
    prev_hash    VARCHAR NOT NULL,
    hash         VARCHAR NOT NULL
);
