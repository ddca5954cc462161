"""Histograms of a column's numbers for the dataset worker's profiles: BINS bins of equal width
over the column's range, counted by DuckDB, read back as a list of counts. Like the worker, it
imports only the standard library and this folder's ``sql_text``."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.store.dataset_worker.sql_text import unless
else:  # run as the worker's script (see its __main__): this folder is first on sys.path
    from sql_text import unless

BINS = 10


def width(low: float, high: float) -> float:
    """The width of each of BINS bins from ``low`` to ``high`` (1 when they are equal)."""
    return (high - low) / BINS or 1.0


def edges(low: float, high: float) -> list[float]:
    """The edges of BINS bins of equal width from ``low`` to ``high``."""
    step = width(low, high)
    return [low + step * i for i in range(BINS + 1)]


def separate(bounds: list[float]) -> bool:
    """Whether the bins' lower edges are distinct doubles (a range narrower than a double's
    precision at its size is not)."""
    lows = bounds[:BINS]
    return all(a < b for a, b in itertools.pairwise(lows))


def histogram(q: str, low: float, high: float) -> str:
    """How many finite values fall in each bin: [e0, e1), [e1, e2), ..., [e9, e10].

    DuckDB's histogram with boundaries counts the values in (b(i-1), b(i)], faster than one
    with a bin number per value; counting the negated values against the negated lower edges
    gives bins closed on the left, as numpy's (every value lies at or above the first edge, so
    the last bin is closed on both sides). NaN and infinities become NULL, which is not
    counted (see ``sql_text.unless``)."""
    bounds = edges(low, high)
    if separate(bounds):
        # 17 significant digits in exponent form: read as the same double (not as a decimal)
        boundaries = ", ".join(f"{-edge:.16e}" for edge in reversed(bounds[:BINS]))
        negated = unless(f"isfinite({q}::DOUBLE)", f"-({q}::DOUBLE)")
        return f"histogram({negated}, [{boundaries}]::DOUBLE[])"
    bucket = f"least(floor(({q}::DOUBLE - {low!r}) / {width(low, high)!r})::INTEGER, {BINS - 1})"
    return f"histogram({unless(f'isfinite({q}::DOUBLE)', bucket)})"


def bin_counts(bounds: list[float], counts: dict[Any, int]) -> list[int]:
    """Each bin's count from the map ``histogram`` gives, for the bins' edges ``bounds``: keyed
    by the negated lower edges (every one present, in ascending order: the last bin first), or
    by bin number."""
    if separate(bounds) and len(counts) == BINS:
        return [int(counts[key]) for key in sorted(counts, reverse=True)]
    return [int(counts.get(i, 0)) for i in range(BINS)]
