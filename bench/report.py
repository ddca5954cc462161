"""Results of the benchmark, printed as a table and written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """One row of the table: a workload measured on Salon and (usually) on MLflow.

    ``higher_is_better`` is True for rates (points/s, runs/s) and False for times (ms) and
    memory. ``target_value`` bounds Salon's own number and ``target_ratio`` its speedup over
    MLflow; ``target`` says both in words for the table.
    """

    workload: str
    unit: str
    higher_is_better: bool
    salon: float | None
    mlflow: float | None = None
    target: str = ""
    target_value: float | None = None
    target_ratio: float | None = None
    detail: str = ""
    limit: str = ""

    @property
    def ratio(self) -> float | None:
        """Salon's speedup: Salon rate / MLflow rate, or MLflow time / Salon time."""
        if not self.salon or not self.mlflow:
            return None
        return self.salon / self.mlflow if self.higher_is_better else self.mlflow / self.salon

    @property
    def met(self) -> bool | None:
        """Whether every stated target holds; None when there is no target to check."""
        checks: list[bool] = []
        if self.target_value is not None and self.salon is not None:
            if self.higher_is_better:
                checks.append(self.salon >= self.target_value)
            else:
                checks.append(self.salon <= self.target_value)
        if self.target_ratio is not None and self.ratio is not None:
            checks.append(self.ratio >= self.target_ratio)
        return all(checks) if checks else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


def _ratio(result: Result) -> str:
    ratio = result.ratio
    if ratio is None:
        return "—"
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:,.2f}x"


def _target(result: Result) -> str:
    if not result.target:
        return ""
    mark = {True: "met", False: "MISSED", None: ""}[result.met]
    return f"{result.target} {mark}".rstrip()


def render_table(results: list[Result]) -> str:
    """A plain-text table, one row per result, with notes and 'what limits it' lines below."""
    header = ("workload", "Salon", "MLflow", "ratio", "target")
    rows = [
        (r.workload, _number(r.salon, r.unit), _number(r.mlflow, r.unit), _ratio(r), _target(r))
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 3}

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    notes = [f"  {r.workload}: {r.detail}" for r in results if r.detail]
    if notes:
        out += ["", "Notes:", *notes]
    limits = [f"  {r.workload}: {r.limit}" for r in results if r.limit]
    if limits:
        out += ["", "What limits it:", *limits]
    return "\n".join(out)


def write_json(path: Path, results: list[Result], meta: dict[str, Any]) -> None:
    """Write ``{"meta": ..., "results": [...]}`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"meta": meta, "results": [r.as_json() for r in results]}
    path.write_text(json.dumps(body, indent=2) + "\n")
