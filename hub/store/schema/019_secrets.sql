-- What every hub sharing a database must hold alike: its signing keys (keys/<kid>.json), the
-- secrets of its cookies and of the dashboard's client, and the signed audit checkpoint. Used
-- on the shared backend only: an embedded hub keeps the same names as files in its data folder.
CREATE TABLE IF NOT EXISTS hub_secrets (
    name        VARCHAR NOT NULL PRIMARY KEY,
    value       VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
