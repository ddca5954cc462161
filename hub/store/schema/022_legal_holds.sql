-- Legal holds: admins and compliance officers place one on a project, a dataset or a person;
-- while it holds (not released), purging the trash, retention and erasure that would remove
-- what it covers are refused, naming the hold. Released holds stay, for the record.
CREATE TABLE IF NOT EXISTS legal_holds (
    id           VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,              -- project | dataset | person
    object_id    VARCHAR NOT NULL,              -- the project's, dataset's or person's id
    label        VARCHAR NOT NULL,              -- what it is called, for people
    reason       VARCHAR NOT NULL,              -- e.g. the matter or request it is for
    placed_by    VARCHAR NOT NULL,
    placed_at    TIMESTAMP NOT NULL,
    released_by  VARCHAR,
    released_at  TIMESTAMP
);
