"""Counting a candidate's dimension figures over several real-text sets, and the Wilson bound of its precision.

Issue 19, fourth protocol (``bench/robust_choice.py``): a candidate's dimension precision measured on the
validation set alone (74 texts, a dozen proposals) was an optimistic estimate — the best of ~1000
candidates on few proposals (winner's curse). The rule therefore counts a candidate's proposals, hits and
labels over the validation set and the real-text pool's out-of-fold texts *together* (one pooled count),
and asks the lower bound of the one-sided 95 % Wilson interval of the pooled precision to reach the
target: a precision seen on 15 proposals no longer passes for one seen on 150.

Also here: the nested, town-grouped subsets of the pool for the learning curve
(:func:`nested_group_subsets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np


@dataclass(frozen=True)
class DimensionCounts:
    """Dimension-level counts of one set of texts (or of several, added with ``+``).

    ``proposals``: (text, dimension) pairs suggested; ``hits``: those the reference labels carry;
    ``labels``: (text, dimension) pairs of the reference; ``uncoded``: texts whose reference carries
    no dimension; ``alarms``: those of them on which a code or a dimension head fires.
    """

    proposals: int = 0
    hits: int = 0
    labels: int = 0
    uncoded: int = 0
    alarms: int = 0

    def __add__(self, other: "DimensionCounts") -> "DimensionCounts":
        return DimensionCounts(self.proposals + other.proposals, self.hits + other.hits,
                               self.labels + other.labels, self.uncoded + other.uncoded,
                               self.alarms + other.alarms)

    @property
    def precision(self) -> float:
        return self.hits / self.proposals if self.proposals else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.labels if self.labels else 0.0

    @property
    def f1(self) -> float:
        """Micro-F1: ``2 hits / (proposals + labels)``."""
        return 2 * self.hits / (self.proposals + self.labels) if self.proposals + self.labels else 0.0

    @property
    def false_alarm_rate(self) -> float | None:
        return self.alarms / self.uncoded if self.uncoded else None

    def precision_lower_bound(self, confidence: float = 0.95) -> float:
        return wilson_lower_bound(self.hits, self.proposals, confidence)

    def as_dict(self, prefix: str = "") -> dict:
        return {f"{prefix}proposals": self.proposals, f"{prefix}hits": self.hits, f"{prefix}labels": self.labels,
                f"{prefix}uncoded": self.uncoded, f"{prefix}alarms": self.alarms,
                f"{prefix}dim_precision": self.precision, f"{prefix}dim_recall": self.recall,
                f"{prefix}dim_f1": self.f1, f"{prefix}false_alarm": self.false_alarm_rate}


def dimension_counts(D_true: np.ndarray, D_pred: np.ndarray, fired: np.ndarray | None = None) -> DimensionCounts:
    """Counts of one set: reference and predicted dimension matrices (texts × dimensions).

    ``fired`` (default: ``D_pred`` has a dimension) says on which texts something is suggested — pass
    the codes and the dimension heads (``np.c_[Y_pred, D_heads]``) to count a code outside the six
    dimensions too, as :func:`analyse.coding.evaluate.transfer_metrics` does.

    >>> c = dimension_counts(np.array([[1, 0], [0, 0], [0, 1]]), np.array([[1, 1], [1, 0], [0, 0]]))
    >>> (c.proposals, c.hits, c.labels, c.uncoded, c.alarms)
    (3, 1, 2, 1, 1)
    """
    D_true, D_pred = np.asarray(D_true, dtype=bool), np.asarray(D_pred, dtype=bool)
    fired = D_pred.any(axis=1) if fired is None else np.asarray(fired, dtype=bool).reshape(len(D_true), -1).any(axis=1)
    uncoded = ~D_true.any(axis=1)
    return DimensionCounts(proposals=int(D_pred.sum()), hits=int((D_true & D_pred).sum()), labels=int(D_true.sum()),
                           uncoded=int(uncoded.sum()), alarms=int((uncoded & fired).sum()))


def pooled(counts: Iterable[DimensionCounts]) -> DimensionCounts:
    """One count over several sets: proposals, hits, labels, uncoded texts and alarms added."""
    total = DimensionCounts()
    for c in counts:
        total = total + c
    return total


def wilson_lower_bound(successes: int, trials: int, confidence: float = 0.95) -> float:
    """Lower bound of the one-sided Wilson score interval of a proportion (0 when ``trials`` is 0).

    One-sided at ``confidence`` = the lower end of the two-sided interval at ``2 confidence − 1``
    (scipy's ``BinomTestResult.proportion_ci(method="wilson")``).

    >>> round(wilson_lower_bound(8, 10), 4)
    0.5408
    """
    if trials <= 0:
        return 0.0
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=2 * confidence - 1, method="wilson")
    return float(ci.low)


def nested_group_subsets(groups: Sequence, fractions: Sequence[float], seed: int = 0) -> list[np.ndarray]:
    """Boolean masks over ``groups`` keeping a growing share of the groups (e.g. the pool's towns).

    The groups are shuffled once (``seed``); the subset at fraction ``f`` keeps the first
    ``round(f × groups)`` of them (at least one), so every subset holds the smaller ones (nested) and
    a group is always wholly in or wholly out.
    """
    groups = np.asarray(list(groups), dtype=object)
    unique = sorted(set(groups.tolist()))
    order = np.random.default_rng(seed).permutation(len(unique))
    ranked = [unique[i] for i in order]
    masks = []
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"a fraction must be in (0, 1], not {f}")
        kept = set(ranked[:max(1, int(round(f * len(unique))))])
        masks.append(np.array([g in kept for g in groups.tolist()], dtype=bool))
    return masks
