"""The stratified bootstrap: resample the test set within each class, many times at once.

A statistic of a run (accuracy, macro-F1, average AUC, LL) is computed on every resample
of the test patches; the percentile interval of those replicates is its confidence
interval. Resampling within each class keeps every class's count, so each resample has
the positives and negatives a one-vs-rest AUC needs. Runs evaluated on the same test set
share the same resamples (same labels, same seed): the difference of their replicates is
a *paired* bootstrap of the difference, from which :func:`paired_p_value` follows.
scipy.stats.bootstrap offers no stratified resampling, hence this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def stratified_indices(labels: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) positions into the test set: each row draws, with replacement,
    as many patches of each class as the class has (classes in sorted order)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    blocks = []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        blocks.append(members[rng.integers(0, len(members), size=(resamples, len(members)))])
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((resamples, 0), dtype=int)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval."""

    estimate: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}

    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def _value(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def percentile_interval(estimate: float | None, replicates: np.ndarray, confidence: float) -> Interval:
    """The ``confidence`` percentile interval of the replicates (NaN replicates, where
    a resample had nothing to score, are left out)."""
    finite = np.asarray(replicates, dtype=float)
    finite = finite[np.isfinite(finite)]
    if estimate is None or len(finite) == 0:
        return Interval(_value(estimate) if estimate is not None else None, None, None)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return Interval(float(estimate), float(low), float(high))


def paired_p_value(differences: np.ndarray) -> float | None:
    """Two-sided p-value of "no difference" from paired bootstrap replicates of a
    difference: twice the share of replicates on the far side of zero (the smallest
    level at which the percentile interval would exclude zero), with the +1 correction
    that keeps it above zero for a finite number of resamples."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return None
    if np.all(d == 0):
        return 1.0
    tail = min((d <= 0).sum(), (d >= 0).sum())
    return float(min(1.0, 2.0 * (tail + 1) / (len(d) + 1)))
