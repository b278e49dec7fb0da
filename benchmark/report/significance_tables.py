"""Tables of uncertainty: each run's bootstrap intervals, and the paired comparisons of
runs on the same test set (from :mod:`benchmark.report.statistics`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.report.statistics import interval_of
from benchmark.run.result import RunResult


def fmt_interval(entry: dict[str, Any] | None, digits: int = 3) -> str | None:
    """``0.727 [0.576, 0.848]`` (or just the estimate when there is no interval)."""
    if entry is None:
        return None
    iv = interval_of(entry)
    if iv.estimate is None:
        return None
    if iv.low is None or iv.high is None:
        return f"{iv.estimate:.{digits}f}"
    return f"{iv.estimate:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]"


def fmt_difference(entry: dict[str, Any] | None) -> str | None:
    """``+0.061 [-0.030, 0.152]``."""
    if entry is None or entry.get("estimate") is None:
        return None
    text = fmt_interval(entry)
    return ("+" if entry["estimate"] >= 0 else "") + text if text else None


def fmt_p(p: float | None) -> str | None:
    if p is None:
        return None
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def table_intervals(results: Sequence[RunResult], stats: dict[str, Any], explainers: Sequence[str]) -> pd.DataFrame:
    """One row per run: accuracy, macro-F1, average AUC and each explainer's LL, with intervals."""
    rows = []
    for r in results:
        s = stats["runs"][r.run_id]
        row = {
            "run": r.run_id,
            "backbone": r.backbone,
            "strategy": r.strategy,
            "accuracy": fmt_interval(s["accuracy"]),
            "macro F1": fmt_interval(s["macro_f1"]),
            "AUC avg": fmt_interval(s["auc_average"]),
        }
        metric = r.localisation.metric
        for name in explainers:
            entry = s["localisation"].get(name, {}).get(metric)
            row[f"LL {name}"] = fmt_interval(entry)
        rows.append(row)
    return pd.DataFrame(rows)


def table_comparisons(stats: dict[str, Any]) -> pd.DataFrame:
    """One row per pair of runs on the same test set: A minus B."""
    rows = []
    for c in stats["comparisons"]:
        acc, auc, ll = c["accuracy"], c["auc_average"], c.get("ll")
        rows.append(
            {
                "A": c["a"],
                "B": c["b"],
                "n": c["n"],
                "Δ accuracy": f"{acc['difference']:+.3f}",
                "b / c": f"{acc['mcnemar']['b']} / {acc['mcnemar']['c']}",
                "McNemar p": fmt_p(acc["p_value"]),
                "q": fmt_p(acc.get("q_value")),
                "Δ AUC avg [CI]": fmt_difference(auc["difference"]),
                "AUC p": fmt_p(auc["p_value"]),
                "AUC q": fmt_p(auc.get("q_value")),
                "Δ LL [CI]": fmt_difference(ll["difference"]) if ll else None,
                "LL p": fmt_p(ll["p_value"]) if ll else None,
                "LL q": fmt_p(ll.get("q_value")) if ll else None,
            }
        )
    return pd.DataFrame(rows)
