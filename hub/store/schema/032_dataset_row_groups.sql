-- How many rows the biggest row group of a stored dataset object holds (NULL: not looked at
-- yet, as for objects stored before this was recorded). A Parquet upload kept as it came with
-- bigger row groups than pages read quickly is written again by the hub in the background (see
-- hub/services/data/dataset_layout.py), and this says which ones still are to be.
ALTER TABLE dataset_files ADD COLUMN IF NOT EXISTS row_group_rows BIGINT;
