"""What reviewers' judgements add up to: human-judged accuracy with a confidence interval, and
how much the reviewers agree.

- Accuracy counts each sample once, by the majority of its verdicts (a tie counts for neither
  side and is reported as a disagreement), with the Wilson score interval (Wilson 1927), which
  stays inside [0, 1] and behaves on small samples where the normal approximation does not.
- Agreement is Fleiss' kappa (Fleiss 1971) over the samples judged at least twice, in its usual
  form for a varying number of judgements per sample: 1 is full agreement, 0 what chance gives.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa of the categories each sample got (one entry per judgement); samples with
    fewer than two judgements do not count. None when it is undefined (fewer than two such
    samples, or every judgement in one category)."""
    rated = [Counter(r) for r in ratings if len(r) >= 2]
    if len(rated) < 2:
        return None
    agreement = [
        sum(n * (n - 1) for n in counts.values())
        / (sum(counts.values()) * (sum(counts.values()) - 1))
        for counts in rated
    ]
    totals: Counter[str] = Counter()
    for counts in rated:
        totals.update(counts)
    judged = sum(totals.values())
    expected = sum((n / judged) ** 2 for n in totals.values())
    if expected >= 1:
        return None
    observed = sum(agreement) / len(agreement)
    return (observed - expected) / (1 - expected)


@dataclasses.dataclass(frozen=True, slots=True)
class Tally:
    samples: int  # in the queue
    judged: int  # with at least one verdict
    complete: int  # with as many verdicts as the queue wants
    judgements: int
    correct: int  # samples whose majority says correct
    decided: int  # samples with a majority either way
    accuracy: float | None
    low: float
    high: float
    kappa: float | None
    agreement: float | None  # share of samples judged twice or more where all verdicts agree
    disagreements: tuple[int, ...]  # positions


def majority(verdicts: Sequence[bool]) -> bool | None:
    """What most said of one sample: correct (True), wrong (False), or None on a tie."""
    yes = sum(verdicts)
    return None if yes * 2 == len(verdicts) else yes * 2 > len(verdicts)


def tally(samples: int, per_item: int, verdicts: dict[int, list[tuple[bool, str | None]]]) -> Tally:
    """``verdicts``: per position, each reviewer's (correct, right label)."""
    correct = decided = complete = 0
    disagreements = []
    categories = []
    for position, given in sorted(verdicts.items()):
        if len(given) >= per_item:
            complete += 1
        said = majority([ok for ok, _ in given])
        if said is not None:
            decided += 1
            correct += said
        words = ["correct" if ok else f"wrong: {label or '?'}" for ok, label in given]
        categories.append(words)
        if len(set(words)) > 1:
            disagreements.append(position)
    multiple = [c for c in categories if len(c) >= 2]
    low, high = wilson(correct, decided)
    return Tally(
        samples,
        len(verdicts),
        complete,
        sum(len(v) for v in verdicts.values()),
        correct,
        decided,
        correct / decided if decided else None,
        low,
        high,
        fleiss_kappa(categories),
        sum(1 for c in multiple if len(set(c)) == 1) / len(multiple) if multiple else None,
        tuple(disagreements),
    )
