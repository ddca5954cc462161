-- Keeping audit events for a limited time. A project's policy may say how many years its audit
-- events are kept; older ones are emptied rather than deleted: the row keeps its place in the
-- chain (seq, time, project, prev_hash, hash) with pruned set and every other field cleared,
-- so the chain still links from the first event to the last and signed checkpoints still
-- match. Verification accepts an emptied event only when a later audit.prune event of the same
-- project records the pruning.
ALTER TABLE retention_policies ADD COLUMN IF NOT EXISTS audit_years INTEGER;
ALTER TABLE audit_events ADD COLUMN IF NOT EXISTS pruned BOOLEAN;
