-- Refresh tokens and authorization codes already exchanged, with the sign-in session they
-- belong to. One presented again is a replay (a stolen copy, or a leaked code): the session is
-- ended, and with it every token issued from it (RFC 6749 4.1.2 and 10.4, OAuth 2.0 Security
-- BCP). Kept until the session expires.
CREATE TABLE IF NOT EXISTS oauth_spent (
    hash        VARCHAR NOT NULL,   -- SHA-256 of the refresh token or code
    session_id  VARCHAR NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
