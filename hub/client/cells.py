"""CSV that a spreadsheet will not run: text cells that begin like a formula are defused.

A cell such as ``=HYPERLINK(...)``, ``@SUM(1)`` or ``=cmd|' /C calc'!A0`` in a CSV is a formula
to Excel, LibreOffice and Google Sheets. As OWASP recommends for CSV injection, every text cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``,
which spreadsheets show as text; numbers stay numbers. Used by every CSV Salon writes (the
hub's exports and the command line; the dashboard keeps its own copy, as it imports nothing of
``hub``).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = "^[=+\\-@\t\r]"


def defused(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """``table`` with each text cell that could start a formula prefixed with ``'``."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, FORMULA_START)
            quote, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)
            column = pc.if_else(risky, pc.binary_join_element_wise(quote, column, nothing), column)
        columns.append(column)
    if isinstance(table, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(columns, schema=table.schema)
    return pa.Table.from_arrays(columns, schema=table.schema)
