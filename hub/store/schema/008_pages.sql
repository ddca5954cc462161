-- Wiki pages and shared notebooks: Markdown (or a Jupyter notebook) per project, versioned.

CREATE TABLE IF NOT EXISTS pages (
    id           VARCHAR NOT NULL,
    project_id   VARCHAR NOT NULL,
    slug         VARCHAR NOT NULL,             -- its address in the project: onboarding, decisions
    kind         VARCHAR NOT NULL,             -- page | notebook
    run_id       VARCHAR,                      -- a notebook attached to a run
    created_by   VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- Every saved text of a page; the latest is the page. Never changed once written.
CREATE TABLE IF NOT EXISTS page_versions (
    page_id     VARCHAR NOT NULL,
    number      INTEGER NOT NULL,
    title       VARCHAR NOT NULL,
    body        VARCHAR NOT NULL,              -- Markdown, or the notebook's JSON
    message     VARCHAR NOT NULL,
    author_id   VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
