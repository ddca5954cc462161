-- Discussions next to the work: comments on anything, the activity feed and each person's inbox.

-- A comment on an object (target), optionally anchored to a part of it. A thread is its first
-- comment and the replies that name it as thread_id.
CREATE TABLE IF NOT EXISTS comments (
    id           VARCHAR NOT NULL,
    project_id   VARCHAR NOT NULL,
    target_kind  VARCHAR NOT NULL,             -- project | experiment | run | dataset | dataset_version
    target_id    VARCHAR NOT NULL,
    thread_id    VARCHAR NOT NULL,             -- the thread's first comment (itself, for that one)
    parent_id    VARCHAR,                      -- the comment replied to
    anchor       VARCHAR,                      -- JSON: {"metric", "steps": [from, to]} | {"filter"} | {"row", "column"}
    author_id    VARCHAR NOT NULL,
    body         VARCHAR NOT NULL,             -- Markdown as written; rendered and sanitized when read
    created_at   TIMESTAMP NOT NULL,
    edited_at    TIMESTAMP,
    deleted_at   TIMESTAMP,                    -- the body is then kept only in comment_edits
    resolved_at  TIMESTAMP,                    -- on a thread's first comment
    resolved_by  VARCHAR
);

-- Every earlier body of an edited (or deleted) comment: the edit history.
CREATE TABLE IF NOT EXISTS comment_edits (
    comment_id  VARCHAR NOT NULL,
    body        VARCHAR NOT NULL,
    edited_by   VARCHAR NOT NULL,
    edited_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS comment_reactions (
    comment_id  VARCHAR NOT NULL,
    user_id     VARCHAR NOT NULL,
    emoji       VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- People and groups a comment mentions (@name), as found when it was written or edited.
CREATE TABLE IF NOT EXISTS comment_mentions (
    comment_id    VARCHAR NOT NULL,
    subject_kind  VARCHAR NOT NULL,            -- 'user' | 'group'
    subject_id    VARCHAR NOT NULL
);

-- What happened, as the activity feed shows it. Written in the same transaction as the change.
-- guard_kind/guard_id name the restrictable object (a dataset) that decides who may see it.
CREATE TABLE IF NOT EXISTS activity (
    id           VARCHAR NOT NULL,             -- UUIDv7: ordered by time
    happened_at  TIMESTAMP NOT NULL,
    actor_id     VARCHAR NOT NULL,
    project_id   VARCHAR,
    verb         VARCHAR NOT NULL,             -- run.finish, dataset.upload, comment.create, ...
    object_kind  VARCHAR NOT NULL,
    object_id    VARCHAR,
    target_kind  VARCHAR,                      -- what the object is about (a comment's target)
    target_id    VARCHAR,
    guard_kind   VARCHAR,
    guard_id     VARCHAR,
    summary      VARCHAR NOT NULL,             -- one line in words: "finished run lr-3e-4"
    detail       VARCHAR NOT NULL              -- JSON with what a reader needs (excerpt, status)
);

-- Each person's inbox: an activity entry delivered to them, and why.
CREATE TABLE IF NOT EXISTS notifications (
    user_id      VARCHAR NOT NULL,
    activity_id  VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,             -- mention | reply | watch | assign
    created_at   TIMESTAMP NOT NULL,
    read_at      TIMESTAMP
);

-- Objects a person follows: new comments and changes on them reach their inbox.
CREATE TABLE IF NOT EXISTS watches (
    user_id      VARCHAR NOT NULL,
    target_kind  VARCHAR NOT NULL,
    target_id    VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- When each person last looked at each project's feed ("what changed since I last looked").
CREATE TABLE IF NOT EXISTS feed_marks (
    user_id     VARCHAR NOT NULL,
    project_id  VARCHAR NOT NULL,
    seen_at     TIMESTAMP NOT NULL
);
