"""Tables of the report's "Does the explanation reflect the model?" section: what the
model-free controls score, faithfulness beside the strongest control, the per-lesion
verdicts, the sanity tests, and the repeatability of maps across runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.evaluation.records import VERDICT_GROUPS, Agreement
from benchmark.report.significance_tables import fmt_difference, fmt_interval, fmt_p
from benchmark.report.tables import against_controls, control_cell
from benchmark.run.result import RunResult


def table_controls(results: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run and model-free control: its LL under the LL's rule and each further
    rule, on the patches the explainers are scored on (the bar every LL is held to); the
    strongest control of each column in bold."""
    rows = []
    for r in results:
        loc = r.localisation
        columns = [loc.metric, *loc.rules]
        best = (
            {
                c: max(
                    (loc.explainers[n].ll if c == loc.metric else loc.explainers[n].metrics[c].mean) or 0.0
                    for n in loc.controls
                )
                for c in columns
            }
            if loc.controls
            else {}
        )
        for name in loc.controls:
            scores = loc.explainers[name]
            row: dict[str, Any] = {"run": r.run_id, "control": name}
            for c in columns:
                value = scores.ll if c == loc.metric else scores.metrics[c].mean
                text = "–" if value is None else f"{value:.3f}"
                row[c] = f"**{text}**" if value is not None and value == best.get(c) else text
            rows.append(row)
    return pd.DataFrame(rows)


def table_localisation_metrics(
    results: Sequence[RunResult], stats: dict[str, Any], explainers: Sequence[str]
) -> pd.DataFrame:
    """One row per run, explainer and localisation metric: the explainer's mean score, the
    random maps' on the same patches, the strongest control's, and the paired advantage
    over it."""
    rows = []
    for r in results:
        loc = r.localisation
        for name in explainers:
            per_metric = stats["runs"][r.run_id]["localisation"].get(name)
            if per_metric is None or name in loc.controls:
                continue
            for metric, entry in per_metric.items():
                rows.append(
                    {
                        "run": r.run_id,
                        "explainer": name,
                        "metric": metric + (" (LL)" if metric == loc.metric else ""),
                        "score": entry.get("estimate"),
                        loc.baseline: entry.get("baseline"),
                        "strongest control": control_cell(entry),
                        "advantage [CI]": fmt_difference(entry.get("control_difference")),
                        "p": fmt_p(entry.get("control_p")),
                        "above controls": against_controls(entry),
                    }
                )
    return pd.DataFrame(rows)


def table_faithfulness(results: Sequence[RunResult], stats: dict[str, Any]) -> pd.DataFrame:
    """One row per run, explainer and faithfulness metric: the score with its interval,
    the random maps' score, the strongest control's, and the advantage over it (in the
    metric's direction: positive is more faithful than every control)."""
    rows = []
    for r in results:
        faith = r.faithfulness
        if faith is None:
            continue
        per_run = stats["runs"][r.run_id].get("faithfulness", {})
        baseline = r.localisation.baseline
        for name in faith.explainers:
            if name in r.localisation.controls:
                continue
            for metric, entry in per_run.get(name, {}).items():
                direction = "higher" if faith.metrics[metric].higher_is_better else "lower"
                rows.append(
                    {
                        "run": r.run_id,
                        "explainer": name,
                        "metric": f"{metric.split('[')[0]} ({direction} is better)",
                        "score [CI]": fmt_interval(entry),
                        baseline: per_run.get(baseline, {}).get(metric, {}).get("estimate"),
                        "strongest control": control_cell(entry),
                        "advantage [CI]": fmt_difference(entry.get("control_difference")),
                        "above controls": against_controls(entry),
                    }
                )
    return pd.DataFrame(rows)


def table_verdicts(results: Sequence[RunResult], stats: dict[str, Any]) -> pd.DataFrame:
    """One row per run and explainer: the share of its correctly classified lesions in
    each verdict group, with intervals."""
    rows = []
    for r in results:
        if r.verdicts is None:
            continue
        per_run = stats["runs"][r.run_id].get("verdicts", {})
        for name, entry in per_run.items():
            rows.append(
                {
                    "run": r.run_id,
                    "explainer": name,
                    "lesions": entry["n"],
                    "strongest control": entry["control"],
                    **{group: fmt_interval(entry[group], 2) for group in VERDICT_GROUPS},
                }
            )
    return pd.DataFrame(rows)


def table_sanity(results: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run and explainer: each test's similarity at its deciding step
    (Spearman / SSIM) and whether the explainer passes it."""
    rows = []
    for r in results:
        sanity = r.sanity
        if sanity is None:
            continue
        names = list(dict.fromkeys(n for t in sanity.tests for n in t.explainers))
        for name in names:
            row: dict[str, Any] = {
                "run": r.run_id,
                "explainer": name + (" (control)" if name in sanity.controls else ""),
            }
            for test in sanity.tests:
                curve = test.explainers.get(name)
                if curve is None:
                    continue
                k = 0 if test.name == "bottom-up" else len(test.steps) - 1
                if test.name == "independent":  # the median group
                    order = sorted(range(len(test.steps)), key=lambda i: curve.spearman[i])
                    k = order[len(order) // 2]
                verdict = "pass" if curve.passed else ("fails (expected)" if name in sanity.controls else "**fails**")
                row[test.name] = f"{curve.spearman[k]:.2f} / {curve.ssim[k]:.2f} {verdict}"
            rows.append(row)
    return pd.DataFrame(rows)


def table_sanity_steps(results: Sequence[RunResult]) -> pd.DataFrame:
    """The cascades step by step for the explainers that are not controls: Spearman after
    each step (what was randomised, in order)."""
    rows = []
    for r in results:
        if r.sanity is None:
            continue
        for test in r.sanity.tests:
            for name, curve in test.explainers.items():
                if name in r.sanity.controls or len(test.steps) < 2:
                    continue
                rows.append(
                    {
                        "run": r.run_id,
                        "explainer": name,
                        "test": test.name,
                        "steps": " → ".join(test.steps),
                        "Spearman": " → ".join(f"{v:.2f}" for v in curve.spearman),
                        "SSIM": " → ".join(f"{v:.2f}" for v in curve.ssim),
                    }
                )
    return pd.DataFrame(rows)


def table_agreement(agreement: Agreement) -> pd.DataFrame:
    """One row per pair of runs and explainer: same-patch similarity beside the floor."""
    rows = []
    for p in agreement.pairs:
        low, floor_high = p.ssim.get("low"), p.floor_ssim.get("high")
        above = None if low is None or floor_high is None else ("yes" if low > floor_high else "**no**")
        rows.append(
            {
                "kind": p.kind,
                "A": p.a,
                "B": p.b,
                "explainer": p.explainer,
                "patches": p.n,
                "SSIM [CI]": fmt_interval(p.ssim),
                "floor SSIM [CI]": fmt_interval(p.floor_ssim),
                "Spearman [CI]": fmt_interval(p.spearman),
                "floor Spearman [CI]": fmt_interval(p.floor_spearman),
                "above the floor": above,
            }
        )
    return pd.DataFrame(rows)
