"""The dataset worker: a process of its own that reads an upload, writes it as Parquet and
profiles its columns. Run as ``python -I hub/store/dataset_worker …`` (see ``__main__``),
never imported by the hub."""
