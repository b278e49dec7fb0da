"""The report's "LL under each threshold rule" section: the study gives no threshold, so
the LL is shown under every rule the spec lists, each beside the strongest model-free
control's under the same rule on the same patches, with the value chosen on the validation split
and a figure of LL against the threshold per run (``figures/threshold_curve.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.report.tables import against_controls, run_columns
from benchmark.run.result import RunResult
from benchmark.spec.schema import Threshold


def rule_columns(result: RunResult) -> list[tuple[str, str]]:
    """(metric name, rule label) of the LL's rule and of each further rule."""
    loc = result.localisation
    primary = Threshold.model_validate(loc.threshold)
    return [(loc.metric, primary.label())] + [
        (metric, Threshold.model_validate(rule).label()) for metric, rule in loc.rules.items()
    ]


def _cell(entry: dict[str, Any] | None) -> str | None:
    if not entry or entry.get("estimate") is None:
        return None
    text = f"{entry['estimate']:.3f}"
    if entry.get("control") is not None:
        text += f" vs {entry['control_score']:.3f} ({entry['control']})"
    return text + ("" if against_controls(entry) in ("yes", None) else " **not above controls**")


def table_threshold_rules(
    results: Sequence[RunResult], explainers: Sequence[str], stats: dict[str, Any]
) -> pd.DataFrame:
    rows = []
    for r in results:
        loc = r.localisation
        baseline = loc.baseline
        per_run = stats.get("runs", {}).get(r.run_id, {}).get("localisation", {})
        for name in explainers:
            if name == baseline or name in loc.controls or name not in loc.explainers:
                continue
            row = {**run_columns(r), "explainer": name}
            for metric, label in rule_columns(r):
                row[f"LL @ {label}"] = _cell(per_run.get(name, {}).get(metric))
            chosen = {
                e: v.chosen if (v := loc.explainers[e].validation) else None
                for e in (name, baseline)
                if e in loc.explainers
            }
            if any(v is not None for v in chosen.values()):
                row["validation choice"] = " / ".join("–" if v is None else f"{v:g}" for v in chosen.values())
            rows.append(row)
    return pd.DataFrame(rows)


def threshold_section(
    results: Sequence[RunResult],
    explainers: Sequence[str],
    stats: dict[str, Any],
    baseline: str,
    table: str,
    level: str = "95%",
) -> list[str]:
    """Markdown lines of the section (``table``: the rendered table; ``level``: the
    intervals' confidence, as the spec sets it)."""
    return [
        "## LL under each threshold rule",
        "",
        "The study gives no threshold for turning a Grad-CAM map into a region, so no rule here is the study's. "
        "Each cell: the explainer's LL vs the strongest model-free control's under the same rule, on the same "
        f"patches (named); **not above controls** where the {level} interval of the paired advantage (the "
        "strongest control taken in each resample) does not lie above 0. "
        "Rules: a fixed value; `otsu`, each map cut at its own Otsu threshold; `validation`, the value "
        "(0.05 ... 0.95) that maximises the LL on the run's validation split, chosen separately for the explainer "
        "and for the `" + baseline + "` baseline (shown as explainer / baseline), never on the test split. "
        "Each run's figure *LL against the threshold* draws the whole curve.",
        "",
        table,
        "",
    ]
