"""Datasets, their immutable versions and files, column notes, row annotations and their use by
runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """A column of a table: its name and its DuckDB type (``BIGINT``, ``VARCHAR``...)."""

    name: str
    type: str


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetRecord:
    id: str
    project_id: str
    name: str
    description: str
    created_at: datetime
    created_by: str
    fixed_schema: bool = False  # new versions must keep the latest version's columns and types


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetFile:
    """One Parquet object of a version, stored once under ``<data dir>/objects`` by SHA-256."""

    object_hash: str
    row_count: int
    size_bytes: int
    location: str | None = None  # registered in place: the file's path or s3:// address
    source_mtime: float | None = None
    source_etag: str | None = None  # S3's ETag of the object registered
    row_group_rows: int | None = None  # its biggest row group's rows (None: not looked at)


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetVersionRecord:
    id: str
    dataset_id: str
    project_id: str
    number: int
    parent_id: str | None
    author: str
    message: str
    created_at: datetime
    content_hash: str
    row_count: int
    size_bytes: int
    schema: tuple[Column, ...]
    profile: Mapping[str, Mapping[str, Any]]  # per column: nulls, distinct, min, max, mean...
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnNote:
    """What an owner says about a column, and whether it holds personal data."""

    dataset_id: str
    name: str
    description: str
    pii: bool
    updated_by: str
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetUse:
    """A run read (``input``) or produced (``output``) a dataset version."""

    run_id: str
    version_id: str
    dataset_id: str
    project_id: str
    direction: str
    recorded_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Annotation:
    """A person's label, note or thumbs up/down on one row of a version."""

    row_number: int
    label: str | None
    note: str | None
    vote: int | None
    author: str
    created_at: datetime
