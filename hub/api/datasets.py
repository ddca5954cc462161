"""Datasets in GraphQL: list, versions, column profiles, a paged preview, column notes."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from hub.api.context import Info
from hub.api.erasures import DatasetErasureType
from hub.api.errors import Errors, as_error, result_of
from hub.api.lineage import RunUseType
from hub.api.runs import load_runs
from hub.domain.data import DatasetVersionRecord
from hub.errors import NotFound, SalonError
from hub.services.data import dataset_compare, dataset_uploads, datasets, row_annotations
from hub.services.data.dataset_layout import LAID_OUT_ROWS
from hub.services.data.datasets import Column, Found
from hub.services.lifecycle import erasure
from hub.services.policy import access
from hub.services.tracking import lineage


@strawberry.type(name="DatasetColumn", description="A column: its type, profile and notes.")
class DatasetColumnType:
    name: str
    type: str = strawberry.field(description="The DuckDB type, e.g. BIGINT, DOUBLE, VARCHAR.")
    description: str = strawberry.field(description="What the owners say the column holds.")
    pii: bool = strawberry.field(description="Tagged as personal data: masked without the grant.")
    profile: JSON = strawberry.field(
        description="nulls, distinct (exact up to some 6,400 or for whole numbers within 65,536 "
        "of each other, else an estimate within a few percent, and distinct_estimated is "
        "true), min, max (texts cut at 1,000 characters); for numbers mean, std, quantiles "
        "(25/50/75 %) and a 10-bin histogram; for others the top values with counts. Mean, "
        "std, quantiles and histogram leave NaN and infinities out. Quantiles, histogram and "
        "top values are counted over a fixed sample of the rows in a big version (sample_rows "
        "says how many; at most 1,000,000, or 2 million numbers)."
    )

    @classmethod
    def of(cls, column: Column) -> DatasetColumnType:
        return cls(
            name=column.name,
            type=column.type,
            description=column.description,
            pii=column.pii,
            profile=JSON(column.profile),
        )


@strawberry.type(name="DatasetRows", description="A page of a version's rows.")
class DatasetRowsType:
    columns: list[str]
    rows: JSON = strawberry.field(description="A list of rows, each a list of values.")
    total: int = strawberry.field(description="Rows in the version.")
    masked: list[str] = strawberry.field(description="Columns shown as ••• (PII).")
    row_numbers: list[int] = strawberry.field(
        description="Each row's number in the version, which annotations point at."
    )


DatasetRowsResult = Annotated[
    DatasetRowsType | Errors,
    strawberry.union("DatasetRowsResult"),
]


@strawberry.type(
    name="Annotation", description="A row's latest annotation: its label, note and vote."
)
class AnnotationType:
    row: int = strawberry.field(description="The row's number in the version.")
    label: str | None
    note: str | None
    vote: int | None = strawberry.field(description="1 thumbs up, -1 thumbs down.")
    author: str
    created_at: datetime


@strawberry.input(
    name="AnnotationInput",
    description="A label, note and vote on one row; it replaces the row's earlier annotation as "
    "a whole (send all three to keep them).",
)
class AnnotationInput:
    row: int
    label: str | None = None
    note: str | None = None
    vote: int | None = None


@strawberry.type(name="Annotated", description="How many annotations were stored.")
class AnnotatedType:
    count: int


@strawberry.type(name="DatasetVersion", description="An immutable version of a dataset.")
class DatasetVersionType:
    id: strawberry.ID
    number: int
    author: str
    message: str
    created_at: datetime
    row_count: int
    size_bytes: int = strawberry.field(description="Size of its Parquet objects.")
    source: str = strawberry.field(description="The file it was made from.")
    content_hash: str = strawberry.field(description="SHA-256 over its content.")
    found: strawberry.Private[Found]
    record: strawberry.Private[DatasetVersionRecord]

    @strawberry.field(description="Columns with their profile and notes.")
    async def columns(self, info: Info) -> list[DatasetColumnType]:
        found = await datasets.columns(info.context.store, self.found, self.record)
        return [DatasetColumnType.of(c) for c in found]

    @strawberry.field(
        description="The most rows one row group of its stored Parquet objects holds; null "
        "until the hub has looked, and for data registered in place. An upload kept as it "
        f"came with more than {LAID_OUT_ROWS:,} rows in a row group is written again in the "
        "background in row groups of about 100,000 (the same rows, in order): deep pages are quick."
    )
    async def row_group_rows(self, info: Info) -> int | None:
        return await datasets.row_group_rows(info.context.store, self.record)

    @strawberry.field(description="The latest annotation of each annotated row.")
    async def annotations(self, info: Info) -> list[AnnotationType]:
        ctx = info.context
        found = await row_annotations.version_annotations(
            ctx.store, ctx.principal, self.found, self.record
        )
        return [
            AnnotationType(
                row=a.row_number,
                label=a.label,
                note=a.note,
                vote=a.vote,
                author=a.author,
                created_at=a.created_at,
            )
            for a in found
        ]

    @strawberry.field(description="Runs that read or produced this version (lineage).")
    async def runs(self, info: Info) -> list[RunUseType]:
        ctx = info.context
        found = await lineage.runs_of_version(ctx.store, ctx.principal, self.found, self.record)
        loaded = await load_runs(info, [run for _, run in found])
        return [
            RunUseType(direction=use.direction, recorded_at=use.recorded_at, run=run)
            for (use, _), run in zip(found, loaded, strict=True)
        ]

    @strawberry.field(
        description="A page of rows matching `filter` (the run filter language over the "
        "columns, e.g. \"temperature_c > 40 and line = 'A'\"); orderBy entries like "
        "'price desc'. `total` counts the matching rows."
    )
    async def rows(
        self,
        info: Info,
        offset: int = 0,
        limit: int = 50,
        order_by: list[str] | None = None,
        filter: str | None = None,
    ) -> DatasetRowsResult:
        ctx = info.context
        try:
            page = await datasets.preview(
                ctx.store, ctx.principal, self.found, self.record, offset, limit, order_by, filter
            )
        except SalonError as exc:
            return as_error(exc)
        return DatasetRowsType(
            columns=page.columns,
            rows=JSON(page.rows),
            total=page.total,
            masked=page.masked,
            row_numbers=page.numbers,
        )


def _version(found: Found, record: DatasetVersionRecord) -> DatasetVersionType:
    return DatasetVersionType(
        id=strawberry.ID(record.id),
        number=record.number,
        author=record.author,
        message=record.message,
        created_at=record.created_at,
        row_count=record.row_count,
        size_bytes=record.size_bytes,
        source=record.source,
        content_hash=record.content_hash,
        found=found,
        record=record,
    )


@strawberry.type(name="Dataset", description="A named, versioned table in a project.")
class DatasetType:
    id: strawberry.ID
    name: str
    description: str
    created_at: datetime
    created_by: str
    fixed_schema: bool = strawberry.field(
        description="New versions must keep the latest version's columns and types."
    )
    found: strawberry.Private[Found]

    @strawberry.field(description="Every version, newest first.")
    async def versions(self, info: Info) -> list[DatasetVersionType]:
        records = await datasets.versions(info.context.store, self.found)
        return [_version(self.found, r) for r in records]

    @strawberry.field(
        description="What changed from one version to another; give `key` (a column both have) "
        "to count rows added, removed and changed."
    )
    async def compare(
        self, info: Info, before: int, after: int, key: str | None = None
    ) -> ComparisonResult:
        ctx = info.context
        work = dataset_compare.compare(ctx.store, ctx.principal, self.found, before, after, key)
        return await result_of(work, DatasetComparisonType.of)

    @strawberry.field(description="Data subjects' rows erased from it, newest first.")
    async def erasures(self, info: Info) -> list[DatasetErasureType]:
        ctx = info.context
        found = await erasure.erasures_of(ctx.store, ctx.principal, self.found)
        names = (self.found.dataset.name, self.found.project.name)
        return [DatasetErasureType.of(record, *names) for record in found]

    @strawberry.field(description="One version by number, or the latest when none is given.")
    async def version(self, info: Info, number: int | None = None) -> DatasetVersionType | None:
        try:
            record = await datasets.version(info.context.store, self.found, number)
        except NotFound:
            return None
        return _version(self.found, record)


@strawberry.type(name="RetypedColumn", description="A column whose type changed.")
class RetypedColumnType:
    name: str
    before: str
    after: str


@strawberry.type(name="ColumnShift", description="How a column common to both versions moved.")
class ColumnShiftType:
    name: str
    type: str
    nulls_before: int
    nulls_after: int
    distinct_before: int | None
    distinct_after: int | None
    mean_before: float | None = strawberry.field(description="Null for PII without the grant.")
    mean_after: float | None


@strawberry.type(name="DatasetComparison", description="What changed between two versions.")
class DatasetComparisonType:
    before: int = strawberry.field(description="The older version's number.")
    after: int
    rows_before: int
    rows_after: int
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: list[RetypedColumnType]
    key: str | None = strawberry.field(description="The column rows were matched by, if any.")
    rows_added: int | None
    rows_removed: int | None
    rows_changed: int | None
    repeated_keys: int | None = strawberry.field(
        description="Key values appearing more than once (they blur rowsChanged)."
    )
    shifts: list[ColumnShiftType]
    summary: list[str] = strawberry.field(description="The comparison in plain sentences.")

    @classmethod
    def of(cls, c: dataset_compare.Comparison) -> DatasetComparisonType:
        return cls(
            before=c.before,
            after=c.after,
            rows_before=c.rows_before,
            rows_after=c.rows_after,
            added_columns=c.added_columns,
            removed_columns=c.removed_columns,
            retyped_columns=[
                RetypedColumnType(name=n, before=b, after=a) for n, b, a in c.retyped_columns
            ],
            key=c.key,
            rows_added=c.rows_added,
            rows_removed=c.rows_removed,
            rows_changed=c.rows_changed,
            repeated_keys=c.repeated_keys,
            shifts=[ColumnShiftType(**dataclasses.asdict(s)) for s in c.shifts],
            summary=c.summary,
        )


ComparisonResult = Annotated[
    DatasetComparisonType | Errors,
    strawberry.union("DatasetComparisonResult"),
]


def _dataset(found: Found) -> DatasetType:
    d = found.dataset
    return DatasetType(
        id=strawberry.ID(d.id),
        name=d.name,
        description=d.description,
        created_at=d.created_at,
        created_by=d.created_by,
        fixed_schema=d.fixed_schema,
        found=found,
    )


AnnotateResult = Annotated[
    AnnotatedType | Errors,
    strawberry.union("AnnotateResult"),
]
PublishResult = Annotated[
    DatasetVersionType | Errors,
    strawberry.union("PublishAnnotationsResult"),
]
ColumnResult = Annotated[
    DatasetColumnType | Errors,
    strawberry.union("DatasetColumnResult"),
]
RestrictResult = Annotated[
    DatasetType | Errors,
    strawberry.union("RestrictDatasetResult"),
]


@strawberry.type
class DatasetQueries:
    @strawberry.field(description="A project's datasets you can see, by name.")
    async def datasets(self, info: Info, project: str) -> list[DatasetType]:
        ctx = info.context
        try:
            found = await datasets.find_project(ctx.store, ctx.principal, project)
        except NotFound:
            return []
        records = await datasets.list_datasets(ctx.store, ctx.principal, found)
        return [_dataset(Found(found.project, r, found.access)) for r in records]

    @strawberry.field(description="One dataset, or null if there is none you can see.")
    async def dataset(self, info: Info, project: str, name: str) -> DatasetType | None:
        ctx = info.context
        try:
            found = await datasets.find(ctx.store, ctx.principal, project, name)
        except NotFound:
            return None
        return _dataset(found)


@strawberry.type
class DatasetMutations:
    @strawberry.mutation(
        description="Describe a column (editors); tagging it as PII or not needs a maintainer."
    )
    async def describe_dataset_column(
        self,
        info: Info,
        project: str,
        dataset: str,
        column: str,
        description: str,
        pii: bool | None = None,
    ) -> ColumnResult:
        ctx = info.context
        try:
            found = await datasets.find(
                ctx.store, ctx.principal, project, dataset, "editor", "dataset.describe_column"
            )
            await datasets.describe_column(
                ctx.store, ctx.principal, found, column, description, pii
            )
            latest = await datasets.version(ctx.store, found, None)
            described = await datasets.columns(ctx.store, found, latest)
        except SalonError as exc:
            return as_error(exc)
        return next(DatasetColumnType.of(c) for c in described if c.name == column)

    @strawberry.mutation(
        description="Label, note or vote on rows of a version (commenters and up); each is "
        "kept with who and when, the latest per row counting."
    )
    async def annotate_rows(
        self,
        info: Info,
        project: str,
        dataset: str,
        version: int,
        annotations: list[AnnotationInput],
    ) -> AnnotateResult:
        ctx = info.context
        items = [row_annotations.NewAnnotation(a.row, a.label, a.note, a.vote) for a in annotations]
        try:
            found = await datasets.find(
                ctx.store, ctx.principal, project, dataset, "commenter", "dataset.annotate"
            )
            record = await datasets.version(ctx.store, found, version)
            count = await row_annotations.annotate(ctx.store, ctx.principal, found, record, items)
        except SalonError as exc:
            return as_error(exc)
        return AnnotatedType(count=count)

    @strawberry.mutation(
        description="Make a new version from a version and its annotations (columns label, "
        "annotation_note and vote); its parent is the annotated version. Editors and up."
    )
    async def publish_annotations(
        self, info: Info, project: str, dataset: str, version: int, message: str = ""
    ) -> PublishResult:
        ctx = info.context
        try:
            found = await datasets.find(
                ctx.store, ctx.principal, project, dataset, "editor", "dataset.publish"
            )
            record = await datasets.version(ctx.store, found, version)
            made, _ = await row_annotations.publish_annotations(
                ctx.store, ctx.settings, ctx.principal, found, record, message
            )
        except SalonError as exc:
            return as_error(exc)
        return _version(found, made)

    @strawberry.mutation(
        description="Require new versions to keep the latest version's columns and types "
        "(maintainers); fixed: false lifts it."
    )
    async def fix_dataset_schema(
        self, info: Info, project: str, dataset: str, fixed: bool
    ) -> RestrictResult:
        ctx = info.context
        try:
            found = await datasets.find(
                ctx.store, ctx.principal, project, dataset, "maintainer", "dataset.fix_schema"
            )
            await dataset_uploads.fix_schema(ctx.store, ctx.principal, found, fixed)
            again = await datasets.find(ctx.store, ctx.principal, project, dataset)
        except SalonError as exc:
            return as_error(exc)
        return _dataset(again)

    @strawberry.mutation(
        description="Show a dataset only to these groups and the project's admins (maintainers); "
        "an empty list lifts the restriction."
    )
    async def restrict_dataset(
        self, info: Info, project: str, dataset: str, groups: list[str]
    ) -> RestrictResult:
        ctx = info.context
        try:
            found = await datasets.find(
                ctx.store, ctx.principal, project, dataset, "maintainer", "object.restrict"
            )
        except SalonError as exc:
            return as_error(exc)
        work = access.restrict(
            ctx.store, ctx.principal, found.project, "dataset", found.dataset.id, groups
        )
        return await result_of(work, lambda _: _dataset(found))
