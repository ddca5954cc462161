"""Projects, runs, their metrics and artifacts, logged models and lineage."""
