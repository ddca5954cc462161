-- Indexes on a shared PostgreSQL database, created once (IF NOT EXISTS) by the first hub that
-- starts: DuckDB's postgres extension hands PostgreSQL the simple filters (col = ?, col IN
-- (...), col > ?), which these let it answer without reading whole tables. (A DuckDB file
-- rebuilds its own at every start instead: see ../900_indexes.sql.)
CREATE INDEX IF NOT EXISTS audit_events_by_seq ON audit_events (seq);
CREATE INDEX IF NOT EXISTS activity_by_id ON activity (id);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (id);
CREATE INDEX IF NOT EXISTS metric_summaries_by_run ON metric_summaries (run_id);
CREATE INDEX IF NOT EXISTS users_by_id ON users (id);
