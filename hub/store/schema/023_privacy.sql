-- A person's rights. Each actor of the audit trail gets a key of its own, and the addresses
-- the trail records for them are stored encrypted with it: the chain's hashes cover the
-- ciphertext, so destroying the key when the person is erased makes their addresses
-- unreadable while the chain still verifies. An erased account keeps its id (which the trail
-- and comments name) under a pseudonym ("former member 7"); erased_at says when.
CREATE TABLE IF NOT EXISTS person_keys (
    actor_id    VARCHAR NOT NULL,
    key         VARCHAR NOT NULL,              -- 256-bit AES-GCM key, hex
    created_at  TIMESTAMP NOT NULL
);

ALTER TABLE users ADD COLUMN IF NOT EXISTS erased_at TIMESTAMP;
