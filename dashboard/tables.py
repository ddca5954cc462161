"""Runs from the hub turned into tables: one row per run, params and latest metrics as columns."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from dashboard.ui import duration_text, key_metric, number_text, status_color, status_label

METRIC_PREFIX = "metrics."
PARAM_PREFIX = "params."


def _numeric_if_possible(column: pd.Series) -> pd.Series:
    converted = pd.to_numeric(column, errors="coerce")
    if converted.notna().sum() == column.notna().sum():
        return converted
    return column


def runs_frame(runs: list[dict[str, Any]], *, with_project: bool = False) -> pd.DataFrame:
    """A table of runs: who, when, how it went, then every metric and param as a column."""
    rows = []
    for item in runs:
        row: dict[str, Any] = {
            "id": item["id"],
            "status": status_label(item["status"]),
            "name": item["name"],
        }
        if with_project:
            row["project"] = item["project"]["name"]
        row |= {
            "experiment": item["experiment"]["name"],
            "user": item["user"],
            "started": pd.Timestamp(item["startedAt"]),
            "duration": duration_text(item.get("durationSeconds")),
        }
        for metric in item["metrics"]:
            row[METRIC_PREFIX + metric["key"]] = metric["lastValue"]
        for param in item["params"]:
            row[PARAM_PREFIX + param["key"]] = param["value"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    metric_columns = sorted(c for c in frame.columns if c.startswith(METRIC_PREFIX))
    param_columns = sorted(c for c in frame.columns if c.startswith(PARAM_PREFIX))
    fixed = [c for c in frame.columns if not c.startswith((METRIC_PREFIX, PARAM_PREFIX))]
    frame = frame[fixed + metric_columns + param_columns]
    for column in param_columns:
        frame[column] = _numeric_if_possible(frame[column])
    return frame


def styled(frame: pd.DataFrame) -> Styler:
    """Statuses in colour and numbers short (``6.3e-06``, ``0.9123``) for ``st.dataframe``."""
    numeric = [
        c
        for c in frame.columns
        if c.startswith((METRIC_PREFIX, PARAM_PREFIX)) and pd.api.types.is_numeric_dtype(frame[c])
    ]
    style = frame.style.format("{:.4g}", subset=numeric, na_rep="")
    if "status" in frame.columns:
        style = style.map(status_color, subset=["status"])
    return style


def runs_column_config(frame: pd.DataFrame) -> dict[str, Any]:
    """How each column of :func:`runs_frame` is shown: times as "3 days ago", tips on headers."""
    config: dict[str, Any] = {
        "id": None,  # needed to act on selected rows, never worth showing
        "status": st.column_config.TextColumn("status", width="small"),
        "started": st.column_config.DatetimeColumn(
            "started", format="distance", help="When the run started"
        ),
    }
    for column in frame.columns:
        if column.startswith(METRIC_PREFIX):
            key = column.removeprefix(METRIC_PREFIX)
            config[column] = st.column_config.NumberColumn(
                column, help=f"Latest value of {key}. Filter: {filter_field(column)}"
            )
        elif column.startswith(PARAM_PREFIX):
            config[column] = st.column_config.Column(
                column, help=f"Setting used by the run. Filter: {filter_field(column)}"
            )
    return config


def filter_field(column: str) -> str:
    """The filter-language spelling of a column: ``metrics.val/acc`` -> metrics.`val/acc`."""
    prefix, _, key = column.partition(".")
    if key.replace("_", "").isalnum():
        return column
    return f"{prefix}.`{key}`"


def recent_runs_frame(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Recent runs across projects with the one metric that sums each up."""
    rows = []
    for item in runs:
        metrics = {m["key"]: m["lastValue"] for m in item["metrics"]}
        best = key_metric(list(metrics))
        rows.append(
            {
                "id": item["id"],
                "status": status_label(item["status"]),
                "name": item["name"],
                "project": item["project"]["name"],
                "user": item["user"],
                "started": pd.Timestamp(item["startedAt"]),
                "key metric": f"{best} = {number_text(metrics[best])}" if best else "—",
            }
        )
    return pd.DataFrame(rows)


def profile_table(columns: list[dict[str, Any]], row_count: int) -> pd.DataFrame:
    """A dataset version's columns with their profile (empty when a column's profile is
    withheld, as share links withhold PII columns' profiles)."""
    profiles = [c["profile"] or {} for c in columns]
    return pd.DataFrame(
        {
            "column": [c["name"] + (" 🔒" if c["pii"] else "") for c in columns],
            "type": [c["type"] for c in columns],
            "what it holds": [c["description"] for c in columns],
            "empty": [
                f"{p['nulls'] / max(row_count, 1):.0%}" if "nulls" in p else "" for p in profiles
            ],
            "distinct": [_distinct(p) for p in profiles],
            "smallest": [p.get("min") for p in profiles],
            "largest": [p.get("max") for p in profiles],
            "average": ["" if p.get("mean") is None else f"{p['mean']:.4g}" for p in profiles],
        }
    )


def _distinct(profile: dict[str, Any]) -> str:
    """A column's distinct values as a person reads them: "≈" before an estimate (above some
    6,400 values; a version profiled before estimates were marked shows its number alone)."""
    count = profile.get("distinct")
    if count is None:
        return ""
    return f"≈ {count:,}" if profile.get("distinct_estimated") else f"{count:,}"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as CSV that a spreadsheet will not run: text cells that begin like a formula
    get a leading ``'`` (OWASP's advice on CSV injection; the hub does the same in
    ``hub.client.cells`` for its own exports)."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    text: str = safe.to_csv(index=False)
    return text.encode()
