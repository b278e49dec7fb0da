"""Is run A better than run B on the same test set? McNemar's test for accuracy, the
paired bootstrap for everything else, Benjamini-Hochberg across a table of comparisons.

McNemar looks only at the discordant patches (A right and B wrong: ``b``; the reverse:
``c``). With fewer than 25 of them the exact binomial test is used (``scipy.stats.
binomtest``), otherwise the continuity-corrected chi-square, as is customary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: below this many discordant pairs, McNemar uses the exact binomial test
EXACT_BELOW = 25


@dataclass(frozen=True)
class McNemar:
    b: int  # A correct, B wrong
    c: int  # A wrong, B correct
    test: str
    p_value: float

    def to_dict(self) -> dict[str, object]:
        return {"b": self.b, "c": self.c, "test": self.test, "p_value": self.p_value}


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's test of equal accuracy for paired per-patch correctness."""
    from scipy.stats import binomtest, chi2

    a, bb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b, c = int((a & ~bb).sum()), int((~a & bb).sum())
    if b + c == 0:
        return McNemar(b, c, "no discordant patches", 1.0)
    if b + c < EXACT_BELOW:
        return McNemar(b, c, "exact binomial", float(binomtest(b, b + c, 0.5).pvalue))
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    return McNemar(b, c, "chi-square (continuity-corrected)", float(chi2.sf(statistic, df=1)))


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``);
    missing values stay missing and are not counted."""
    from scipy.stats import false_discovery_control

    present = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if present:
        adjusted = false_discovery_control([p_values[i] for i in present], method="bh")
        for i, q in zip(present, np.atleast_1d(adjusted), strict=True):
            out[i] = float(q)
    return out
