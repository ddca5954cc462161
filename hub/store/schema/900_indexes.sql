-- Indexes for speed only: point lookups by id stay fast as tables grow. Correctness never
-- depends on them (a DuckLake catalog has none).
--
-- They are rebuilt from the tables at every start. DuckDB 1.5 can persist an index that misses
-- rows replayed from the write-ahead log after a crash (duckdb/duckdb#23788): lookups by id
-- then find nothing although the rows are there. Rebuilding costs little and rules that out.
DROP INDEX IF EXISTS runs_by_id;
DROP INDEX IF EXISTS metric_summaries_by_run;
DROP INDEX IF EXISTS users_by_id;
DROP INDEX IF EXISTS audit_events_by_seq;
CREATE INDEX runs_by_id ON runs (id);
CREATE INDEX metric_summaries_by_run ON metric_summaries (run_id);
CREATE INDEX users_by_id ON users (id);
