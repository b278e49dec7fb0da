"""The report's appendix on hyperparameter selection: every run of the spec, its
validation score, its test numbers, and which run each cell kept for Tables II-IV."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from benchmark.run.config import RunConfig
from benchmark.run.result import RunResult
from benchmark.selection import Selection, validation_score


def table_all_runs(
    selection: Selection, runs: Sequence[RunConfig], results: Mapping[str, RunResult], explainer: str
) -> pd.DataFrame:
    by_id = {r.run_id: r for r in runs}
    rows = []
    for cell in selection.cells:
        for candidate in cell.candidates:
            for run_id in candidate.runs:
                run, result = by_id[run_id], results.get(run_id)
                rows.append(
                    {
                        **cell.values,
                        "hyperparameters": candidate.key,
                        "seed": run.seed,
                        "run": run_id,
                        "val loss": validation_score(result, "val_loss") if result else None,
                        "val accuracy": validation_score(result, "val_accuracy") if result else None,
                        "test accuracy": result.test.accuracy if result else None,
                        "AUC avg": result.test.auc_average if result else None,
                        f"LL {explainer}": ll if result and (ll := _ll(result, explainer)) is not None else None,
                        "kept": "**kept**" if cell.chosen is candidate else ("not run yet" if result is None else ""),
                    }
                )
    return pd.DataFrame(rows)


def _ll(result: RunResult, explainer: str) -> float | None:
    scores = result.localisation.explainers.get(explainer)
    return scores.ll if scores else None


def selection_lines(selection: Selection, kept_count: int, total: int) -> list[str]:
    """The sentence under Tables II-IV's heading that says what was kept and why."""
    return [
        f"Hyperparameter selection {selection.describe()} (validation split only): {kept_count} of {total} "
        f"run(s) kept, one hyperparameter set per cell; every run is listed in the appendix.",
        "",
    ]
