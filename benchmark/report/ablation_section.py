"""The report's "What the study's choices cost" section: each of the study's choices set
beside its alternatives on the same data (the spec's ablation axes: ``matrix.normaliser``
and ``matrix.patches``), every LL beside the random maps' and the strongest model-free
control's at the same settings.

With a tight lesion box the lesion fills much of the patch, and a map of the whole patch
already scores a high IoU: an LL says something about the model only beside the
strongest control at those settings, which these tables show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.report.significance_tables import fmt_difference, fmt_interval
from benchmark.report.tables import against_controls, control_cell
from benchmark.run.result import RunResult

AXIS_TITLES = {"normaliser": "Normalisation", "patches": "Patch cutting (lesion box, context)"}


def _axis_value(r: RunResult, axis: str) -> str:
    return r.normaliser.name if axis == "normaliser" else r.data.variant


def _has_axis(r: RunResult, axis: str) -> bool:
    return bool(getattr(r.axes, axis))


def table_axis(results: Sequence[RunResult], axis: str, explainer: str, stats: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for r in results:
        s = stats["runs"].get(r.run_id, {})
        loc = r.localisation
        entry = s.get("localisation", {}).get(explainer, {}).get(loc.metric)
        other = [a for a in AXIS_TITLES if a != axis and _has_axis(r, a)]
        rows.append(
            {
                "backbone": r.backbone,
                "strategy": r.strategy,
                **{a: _axis_value(r, a) for a in other},
                axis: _axis_value(r, axis),
                "label leak": "yes" if r.normaliser.uses_labels else "no",
                "accuracy": fmt_interval(s.get("accuracy")),
                "AUC avg": fmt_interval(s.get("auc_average")),
                f"LL {explainer}": fmt_interval(entry),
                f"LL {loc.baseline}": (entry or {}).get("baseline"),
                "strongest control": control_cell(entry),
                "LL − control [CI]": fmt_difference((entry or {}).get("control_difference")),
                "above controls": against_controls(entry),
                "run": r.run_id,
            }
        )
    frame = pd.DataFrame(rows)
    keys = [c for c in ("backbone", "strategy", *AXIS_TITLES) if c in frame.columns and c != axis] + [axis]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True) if len(frame) else frame


def ablation_axes(results: Sequence[RunResult]) -> list[str]:
    """The ablation axes on which the shown runs take more than one value."""
    return [a for a in AXIS_TITLES if len({_axis_value(r, a) for r in results if _has_axis(r, a)}) > 1]
