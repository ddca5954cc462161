-- Tasks: who does what by when, linked to the objects it is about; shown as a board.

CREATE TABLE IF NOT EXISTS tasks (
    id              VARCHAR NOT NULL,
    project_id      VARCHAR NOT NULL,
    number          INTEGER NOT NULL,          -- #1, #2 … within the project
    title           VARCHAR NOT NULL,
    description     VARCHAR NOT NULL,          -- Markdown
    status          VARCHAR NOT NULL,          -- todo | doing | review | done
    assignee_id     VARCHAR,
    due_date        DATE,
    labels          VARCHAR[] NOT NULL,
    close_with_run  BOOLEAN NOT NULL,          -- done by itself when a linked run finishes
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP
);

CREATE TABLE IF NOT EXISTS task_links (
    task_id      VARCHAR NOT NULL,
    target_kind  VARCHAR NOT NULL,             -- run | dataset | dataset_version | experiment | …
    target_id    VARCHAR NOT NULL
);
