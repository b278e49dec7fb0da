"""A model built over another backbone (a result whose ``model.builds_on`` names it, such
as an interpretable-by-design network) beside the runs of that backbone on the same test
patches: accuracy and AUC with intervals and paired tests, every explainer's localisation
scores (the random baseline's among them), and the figures its explainers drew of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.report.figures import FigureFile
from benchmark.report.markdown_table import md_table
from benchmark.report.significance_tables import fmt_difference, fmt_interval, fmt_p
from benchmark.report.statistics import test_set_key
from benchmark.run.result import RunResult


def _pairs(results: Sequence[RunResult]) -> list[tuple[RunResult, RunResult]]:
    """(the model built on a backbone, a run of that backbone) on the same test patches."""
    return [
        (r, b)
        for r in results
        if r.model.builds_on
        for b in results
        if b.backbone == r.model.builds_on and test_set_key(b) == test_set_key(r)
    ]


def _comparison(stats: dict[str, Any], a: str, b: str) -> dict[str, Any] | None:
    return next((c for c in stats["comparisons"] if {c["a"], c["b"]} == {a, b}), None)


def _classification(pair: tuple[RunResult, RunResult], stats: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "model": f"{r.backbone} / {r.strategy}",
            "run": r.run_id,
            "accuracy": fmt_interval(stats["runs"][r.run_id]["accuracy"]),
            "AUC avg": fmt_interval(stats["runs"][r.run_id]["auc_average"]),
            "p": None,
        }
        for r in pair
    ]
    c = _comparison(stats, pair[0].run_id, pair[1].run_id)
    if c is not None:
        first = next(r for r in pair if r.run_id == c["a"])
        rows.append(
            {
                "model": f"difference ({first.backbone} minus the other)",
                "run": "",
                "accuracy": f"{c['accuracy']['difference']:+.3f} (McNemar p {fmt_p(c['accuracy']['p_value'])})",
                "AUC avg": fmt_difference(c["auc_average"]["difference"]),
                "p": fmt_p(c["auc_average"]["p_value"]),
            }
        )
    return pd.DataFrame(rows)


def _localisation(pair: tuple[RunResult, RunResult], stats: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for r in pair:
        loc = r.localisation
        metrics = loc.metrics or [loc.metric]
        for name in loc.explainers:
            entry = stats["runs"][r.run_id]["localisation"].get(name, {})
            row: dict[str, Any] = {
                "model": r.backbone,
                "explainer": name + (" (chance level)" if name == loc.baseline else ""),
            }
            for metric in metrics:
                row[metric] = fmt_interval(entry.get(metric))
            ll = entry.get(loc.metric, {})
            row[f"{loc.metric} minus {loc.baseline}"] = fmt_difference(ll.get("difference"))
            row["p"] = fmt_p(ll.get("p_value"))
            rows.append(row)
    return pd.DataFrame(rows)


def builds_on_section(
    results: Sequence[RunResult], stats: dict[str, Any] | None, figures: dict[str, list[FigureFile]]
) -> list[str]:
    """The section's markdown lines (none without such a pair)."""
    pairs = _pairs(results)
    if not pairs or stats is None:
        return []
    out: list[str] = []
    for model, base in pairs:
        kind = (model.model.kind or "model").capitalize()
        out += [
            f"## {kind} beside the CNN it builds on: {model.backbone} and {base.backbone}",
            "",
            f"`{model.run_id}` ({model.label}) and `{base.run_id}` ({base.label}), on the same test patches. "
            "Intervals: stratified bootstrap; accuracy: McNemar's test; AUC: paired bootstrap of the "
            "difference.",
            "",
            md_table(_classification((model, base), stats)),
            "",
            "Localisation of every explainer on the correctly classified lesion patches of each model (each model "
            "scores its own), beside the random maps on the same patches."
            + (
                f" Declined (not applicable to `{base.backbone}`): {', '.join(base.localisation.declined)}."
                if base.localisation.declined
                else ""
            ),
            "",
            md_table(_localisation((model, base), stats)),
            "",
        ]
        for fig in figures.get(model.run_id, []):
            if "/panel-" in fig.path:
                out += [f"![{fig.caption}]({fig.path})", ""]
    return out
