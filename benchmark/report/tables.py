"""The study's tables as pandas DataFrames, from stored run results.

Table I: patches per class and split. Table II: accuracy, batch size, best epoch.
Table III: average and per-class one-vs-rest AUC. Table IV: lesion localisation (LL),
accuracy and Acc x LL, each LL beside the random maps' and the strongest model-free
control's on the same patches, and whether it is above every control. Cited rows
(``baselines``) follow our rows, marked as cited, their numbers as printed (kept as text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.report.baselines import BASELINES, CitedRow
from benchmark.run.result import RunResult


def _cited(baselines: Sequence[str]) -> list[CitedRow]:
    return [row for name in baselines for row in BASELINES[name]]


def _axes_columns(r: RunResult) -> dict[str, Any]:
    """The ablation axes a run differs on, when its spec has them (normaliser, patches)."""
    out = {}
    if r.axes.normaliser:
        out["normaliser"] = r.normaliser.name
    if r.axes.patches:
        out["patches"] = r.data.variant
    return out


def run_columns(r: RunResult) -> dict[str, Any]:
    return {
        "spec": r.spec,
        "backbone": r.backbone,
        "strategy": r.strategy,
        **_axes_columns(r),
        "batch": r.batch_size,
        "seed": r.seed,
        "run": r.run_id,
    }


def _cited_columns(c: CitedRow) -> dict[str, Any]:
    return {"backbone": c.backbone, "strategy": c.strategy, "batch": c.batch_size, "seed": None, "run": c.source}


def table_patches(result: RunResult) -> pd.DataFrame:
    counts = result.data.counts
    rows = [
        {"class": f"{name} ({ABBREVIATIONS[name]})", **{s: counts[s][name] for s in ("train", "val", "test")}}
        for name in CLASSES
    ]
    table = pd.DataFrame(rows)
    table["total"] = table[["train", "val", "test"]].sum(axis=1)
    total = {"class": "total", **{c: int(table[c].sum()) for c in ("train", "val", "test", "total")}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def table_accuracy(results: Sequence[RunResult], baselines: Sequence[str]) -> pd.DataFrame:
    rows = [
        {
            **run_columns(r),
            "accuracy": r.test.accuracy,
            "macro F1": r.test.macro_f1,
            "best epoch": r.training.best_epoch,
            "epochs": len(r.training.history),
        }
        for r in results
    ]
    rows += [
        {**_cited_columns(c), "accuracy": c.accuracy, "macro F1": None, "best epoch": c.best_epoch, "epochs": None}
        for c in _cited(baselines)
    ]
    return pd.DataFrame(rows)


def table_auc(results: Sequence[RunResult], baselines: Sequence[str]) -> pd.DataFrame:
    rows = []
    for r in results:
        per = r.test.per_class
        rows.append(
            {**run_columns(r), "AUC avg": r.test.auc_average, **{ABBREVIATIONS[c]: per[c].auc for c in CLASSES}}
        )
    for c in _cited(baselines):
        rows.append(
            {
                **_cited_columns(c),
                "AUC avg": c.auc_average,
                **{ABBREVIATIONS[k]: c.auc_per_class.get(k) for k in CLASSES},
            }
        )
    return pd.DataFrame(rows)


def against_baseline(entry: dict[str, Any] | None) -> str | None:
    """``yes`` when the paired difference from the random baseline is above 0 with its
    whole interval, ``no`` otherwise (``–`` when there is nothing to compare)."""
    difference = (entry or {}).get("difference") or {}
    if difference.get("estimate") is None:
        return None
    low = difference.get("low")
    return "yes" if low is not None and low > 0 else "**no**"


def against_controls(entry: dict[str, Any] | None) -> str | None:
    """``yes`` when the score is above the strongest model-free control's with the whole
    interval of the paired advantage (the strongest control taken in each resample),
    ``no`` otherwise (``–`` when there is nothing to compare)."""
    difference = (entry or {}).get("control_difference") or {}
    if difference.get("estimate") is None:
        return None
    low = difference.get("low")
    return "yes" if low is not None and low > 0 else "**no**"


def control_cell(entry: dict[str, Any] | None) -> str | None:
    """``centre 0.651``: the strongest control at these settings and its score."""
    if not entry or entry.get("control") is None:
        return None
    return f"{entry['control']} {entry['control_score']:.3f}"


def table_localisation(
    results: Sequence[RunResult],
    baselines: Sequence[str],
    explainers: Sequence[str],
    stats: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per run and explainer (in ``explainers`` order): LL, the random maps' LL on
    the same patches, the strongest control's LL, whether LL is above every control,
    accuracy and Acc x LL."""
    from benchmark.report.significance_tables import fmt_difference

    rows = []
    for r in results:
        loc = r.localisation
        baseline = loc.baseline
        per_run = (stats or {}).get("runs", {}).get(r.run_id, {}).get("localisation", {})
        for name in explainers:
            scores = loc.explainers.get(name)
            if scores is None or name == baseline or name in loc.controls:
                continue
            ll, acc = scores.ll, r.test.accuracy
            entry = per_run.get(name, {}).get(loc.metric)
            rows.append(
                {
                    **run_columns(r),
                    "explainer": name,
                    "LL": ll,
                    f"LL {baseline}": (entry or {}).get("baseline"),
                    "strongest control": control_cell(entry),
                    "LL − control [CI]": fmt_difference((entry or {}).get("control_difference")),
                    "above controls": against_controls(entry),
                    "accuracy": acc,
                    "Acc x LL": None if ll is None else acc * ll,
                    "scored": scores.n_scored,
                    "zero maps": scores.n_zero_maps,
                }
            )
    for c in _cited(baselines):
        if c.ll is not None:
            rows.append(
                {
                    **_cited_columns(c),
                    "explainer": "gradcam",
                    "LL": c.ll,
                    "accuracy": c.accuracy,
                    "Acc x LL": c.acc_x_ll,
                    "scored": None,
                    "zero maps": None,
                }
            )
    return pd.DataFrame(rows)


def ll_against_controls(
    results: Sequence[RunResult], explainers: Sequence[str], stats: dict[str, Any]
) -> dict[str, list[str]]:
    """``run`` / ``explainer`` pairs by verdict: ``above`` every model-free control (the
    paired advantage's interval above 0), ``not above``, ``unscored`` (no correctly
    classified lesion patch, so no LL to compare)."""
    out: dict[str, list[str]] = {"above": [], "not above": [], "unscored": []}
    for r in results:
        loc = r.localisation
        for name in explainers:
            scores = loc.explainers.get(name)
            if name == loc.baseline or name in loc.controls or scores is None:
                continue
            pair = f"`{name}` on `{r.run_id}` ({r.label})"
            if scores.ll is None:
                out["unscored"].append(pair)
                continue
            entry = stats.get("runs", {}).get(r.run_id, {}).get("localisation", {}).get(name, {}).get(loc.metric)
            out["above" if against_controls(entry) == "yes" else "not above"].append(pair)
    return out


def table_classification_report(result: RunResult) -> pd.DataFrame:
    test = result.test
    rows = [
        {
            "class": c,
            "precision": test.per_class[c].precision,
            "recall": test.per_class[c].recall,
            "f1-score": test.per_class[c].f1,
            "support": test.per_class[c].support,
        }
        for c in CLASSES
    ]
    rows.append({"class": "accuracy", "precision": None, "recall": None, "f1-score": test.accuracy, "support": test.n})
    for avg in ("macro avg", "weighted avg"):
        a = test.averages[avg]
        rows.append(
            {"class": avg, "precision": a.precision, "recall": a.recall, "f1-score": a.f1, "support": int(a.support)}
        )
    return pd.DataFrame(rows)


def table_confusion(result: RunResult) -> pd.DataFrame:
    abbr = [ABBREVIATIONS[c] for c in CLASSES]
    counts = result.test.confusion_matrix
    pct = result.test.confusion_matrix_row_percent
    cells = [
        [f"{n} ({p:.0f}%)" for n, p in zip(row_n, row_p, strict=True)] for row_n, row_p in zip(counts, pct, strict=True)
    ]
    return pd.DataFrame(cells, index=[f"true {a}" for a in abbr], columns=[f"pred {a}" for a in abbr])


def results_frame(
    results: Sequence[RunResult], stats: dict[str, Any] | None = None, kept: set[str] | None = None
) -> pd.DataFrame:
    """One row per run: everything a spreadsheet user wants (``results.csv``), with the
    bootstrap interval bounds when ``stats`` is given and, with a selection, whether the
    run was kept."""
    rows = []
    for r in results:
        row = {
            **run_columns(r),
            "label": r.label,
            "accuracy": r.test.accuracy,
            "macro_f1": r.test.macro_f1,
            "auc_average": r.test.auc_average,
            "best_epoch": r.training.best_epoch,
            "best_val_loss": r.training.best_val_loss,
            "normaliser": r.normaliser.name,
            "label_leak": r.normaliser.uses_labels,
            "fingerprint": r.fingerprint,
            "data_hash": r.data.hash,
        }
        if kept is not None:
            row["selected"] = r.run_id in kept
        row |= {f"auc_{ABBREVIATIONS[c]}": r.test.per_class[c].auc for c in CLASSES}
        run_stats = (stats or {}).get("runs", {}).get(r.run_id, {})
        for key in ("accuracy", "macro_f1", "auc_average"):
            if key in run_stats:
                row[f"{key}_ci_low"], row[f"{key}_ci_high"] = run_stats[key]["low"], run_stats[key]["high"]
        for name, scores in r.localisation.explainers.items():
            row[f"ll_{name}"] = scores.ll
            entry = run_stats.get("localisation", {}).get(name, {}).get(r.localisation.metric)
            if entry:
                row[f"ll_{name}_ci_low"], row[f"ll_{name}_ci_high"] = entry["low"], entry["high"]
            if entry and entry.get("control"):
                row[f"ll_{name}_strongest_control"] = entry["control"]
                row[f"ll_{name}_above_controls"] = against_controls(entry) == "yes"
        rows.append(row)
    return pd.DataFrame(rows)
