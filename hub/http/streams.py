"""Streaming Arrow-written formats (IPC, CSV, Parquet) as an HTTP body, chunk by chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from hub.client.cells import defused

ARROW_STREAM = "application/vnd.apache.arrow.stream"
WRITERS: dict[str, Callable[[Any, pa.Schema], Any]] = {
    "arrow": pa.ipc.new_stream,
    "csv": pa_csv.CSVWriter,
    "parquet": pq.ParquetWriter,
}


class Chunks:
    """A write-only file that hands over what was written since the last ``take``: Arrow's
    writers write into it, and the response sends each piece as it comes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


async def written(
    batches: AsyncIterator[pa.RecordBatch], kind: str, schema: pa.Schema | None = None
) -> AsyncIterator[bytes]:
    """``batches`` written as ``kind`` (arrow, csv or parquet), a piece per batch, so a large
    result never sits whole in memory. With ``schema`` the header goes out even when there are
    no batches; otherwise the first batch's schema is used. CSV text cells that could start a
    spreadsheet formula are defused (:mod:`hub.client.cells`)."""
    sink = Chunks()
    writer = None if schema is None else WRITERS[kind](sink, schema)
    async for batch in batches:
        if writer is None:
            writer = WRITERS[kind](sink, batch.schema)
        writer.write_batch(defused(batch) if kind == "csv" else batch)
        yield sink.take()
    if writer is not None:
        writer.close()
        yield sink.take()
