"""Tables about the explainers: every localisation score beside the baseline's on the
same patches, and the cascading-randomisation sanity check."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from benchmark.report.significance_tables import fmt_difference, fmt_p
from benchmark.run.result import RunResult


def table_localisation_metrics(results: Sequence[RunResult], stats: dict[str, Any],
                               explainers: Sequence[str]) -> pd.DataFrame:
    """One row per run, explainer and metric: the explainer's mean score, the baseline's
    on the patches both scored, and their paired difference."""
    rows = []
    for r in results:
        loc = r.localisation
        for name in explainers:
            per_metric = stats["runs"][r.run_id]["localisation"].get(name)
            if per_metric is None:
                continue
            for metric, entry in per_metric.items():
                rows.append({"run": r.run_id, "explainer": name, "metric": metric + (" (LL)" if metric == loc.metric else ""),
                             "score": entry.get("estimate"), loc.baseline: entry.get("baseline"),
                             "difference [CI]": fmt_difference(entry.get("difference")), "p": fmt_p(entry.get("p_value"))})
    return pd.DataFrame(rows)


def table_sanity(results: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run and explainer: rank correlation with the trained model's maps
    after each step of the cascade (head first), and the flag."""
    rows = []
    for r in results:
        sanity = r.localisation.sanity
        if not sanity:
            continue
        for name, entry in sanity.explainers.items():
            rows.append({"run": r.run_id, "explainer": name, "patches": sanity.n_patches,
                         "randomised, head first": " → ".join(sanity.steps),
                         "Spearman after each step": " → ".join(f"{v:.2f}" for v in entry.spearman),
                         "flag": "**maps do not follow the model**" if entry.flagged else "passes"})
    return pd.DataFrame(rows)
