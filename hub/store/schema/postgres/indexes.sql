-- Indexes on a shared PostgreSQL database, created once (IF NOT EXISTS) by the first hub that
-- starts: DuckDB's postgres extension hands PostgreSQL the simple filters (col = ?, col IN
-- (...), col > ?), which these let it answer without reading whole tables. (A DuckDB file
-- rebuilds its own at every start instead: see ../900_indexes.sql.)
CREATE INDEX IF NOT EXISTS audit_events_by_seq ON audit_events (seq);
CREATE INDEX IF NOT EXISTS activity_by_id ON activity (id);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (id);
CREATE INDEX IF NOT EXISTS metric_summaries_by_run ON metric_summaries (run_id);
CREATE INDEX IF NOT EXISTS users_by_id ON users (id);
CREATE INDEX IF NOT EXISTS params_by_run ON params (run_id);
CREATE INDEX IF NOT EXISTS tags_by_run ON tags (run_id);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (project_id);
CREATE INDEX IF NOT EXISTS experiments_by_id ON experiments (id);
CREATE INDEX IF NOT EXISTS projects_by_id ON projects (id);
CREATE INDEX IF NOT EXISTS memberships_by_subject ON memberships (subject_id);
CREATE INDEX IF NOT EXISTS comments_by_target ON comments (target_id);
CREATE INDEX IF NOT EXISTS notifications_by_user ON notifications (user_id);
CREATE INDEX IF NOT EXISTS auth_failures_by_key ON auth_failures (key, failed_at);
CREATE INDEX IF NOT EXISTS trashed_by_object ON trashed (object_id);
