"""SQL that leaves out what is in the trash (see ``trash``): every list, search and feed
uses it. Apart from ``trash`` so that any store module may use it without an import cycle."""

from __future__ import annotations

from hub.domain.lifecycle import TRASH_KINDS


def live(kind: str, column: str) -> str:
    """SQL that holds for rows whose object (``column``, of ``kind``) is not in the trash."""
    assert kind in TRASH_KINDS
    # NOT IN over the trash's (non-null) ids: the same rows as a correlated NOT EXISTS, which
    # DuckDB plans at about 0.8 ms more a query (measured on a model lookup: 1.1 vs 0.6 ms).
    return f"({column} NOT IN (SELECT object_id FROM trashed WHERE kind = '{kind}'))"


def about_live(*columns: str) -> str:
    """SQL that holds for rows about no object in the trash: none of ``columns`` (object ids
    of any kind, unique across kinds) names one. Qualify them with their table: a plain
    ``object_id`` would be the trash's own column."""
    return (
        "NOT EXISTS (SELECT 1 FROM trashed AS hidden WHERE hidden.object_id IN "
        f"({', '.join(columns)}))"
    )


VIEWS = ("live", "trashed", "all")  # what a list shows: not in the trash, in it, or both


def shown(kind: str, column: str, view: str = "live") -> str:
    """SQL for the rows a list shows in ``view`` (MLflow's ACTIVE_ONLY, DELETED_ONLY, ALL)."""
    assert view in VIEWS
    if view == "all":
        return "TRUE"
    return live(kind, column) if view == "live" else f"NOT {live(kind, column)}"
