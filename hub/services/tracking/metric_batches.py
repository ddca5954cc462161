"""Checking a batch of metric points before it is stored: right columns, types and sizes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hub.domain.tracking import BATCH_SCHEMA
from hub.errors import InvalidInput, LimitExceeded
from hub.services.policy.limits import MAX_KEY


def read_batch(body: bytes) -> pa.Table:
    """Decode an Arrow IPC stream into a table, or say what is wrong with it."""
    try:
        with pa.ipc.open_stream(body) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InvalidInput(
            f"The body is not an Arrow IPC stream ({exc}). Send columns key (string), "
            "step (int64), ts (int64, ms since epoch) and value (float64)."
        ) from None


def conform_batch(table: pa.Table) -> pa.Table:
    """``table`` as ``BATCH_SCHEMA``: right columns, right types, no nulls, names in limits."""
    missing = [name for name in BATCH_SCHEMA.names if name not in table.column_names]
    if missing:
        raise InvalidInput(
            f"The batch lacks column(s) {', '.join(missing)}; expected key, step, ts, value."
        )
    table = table.select(BATCH_SCHEMA.names)
    for name in BATCH_SCHEMA.names:
        if table.column(name).null_count:
            raise InvalidInput(f"Column {name!r} has empty (null) entries; every point needs one.")
    try:
        table = table.cast(BATCH_SCHEMA, safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(
            f"A column has the wrong type ({exc}); expected key: string, step: int64, "
            "ts: int64, value: float64."
        ) from None
    if table.num_rows == 0:
        return table
    lengths = pc.utf8_length(table.column("key"))
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > MAX_KEY:
        raise LimitExceeded(f"A metric name is {longest} characters long; the limit is {MAX_KEY}.")
    if pc.min(lengths).as_py() == 0:
        raise InvalidInput("A metric name is empty; every point needs a name.")
    return table
