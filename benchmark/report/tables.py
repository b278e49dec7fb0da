"""The study's tables as pandas DataFrames, from stored run results.

Table I: patches per class and split. Table II: accuracy, batch size, best epoch.
Table III: average and per-class one-vs-rest AUC. Table IV: lesion localisation (LL),
accuracy and Acc x LL. Cited rows (``baselines``) follow our rows, marked as cited.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from benchmark.data.classes import ABBREVIATIONS, CLASSES
from benchmark.report.baselines import BASELINES, CitedRow


def _cited(baselines: Sequence[str]) -> list[CitedRow]:
    return [row for name in baselines for row in BASELINES[name]]


def _run_columns(r: dict[str, Any]) -> dict[str, Any]:
    cfg = r["config"]
    return {"backbone": cfg["backbone"], "strategy": cfg["strategy"], "batch": cfg["hparams"]["batch_size"],
            "seed": cfg["seed"], "run": r["run_id"]}


def table_patches(result: dict[str, Any]) -> pd.DataFrame:
    counts = result["data"]["counts"]
    rows = [{"class": f"{name} ({ABBREVIATIONS[name]})", **{s: counts[s][name] for s in ("train", "val", "test")}} for name in CLASSES]
    table = pd.DataFrame(rows)
    table["total"] = table[["train", "val", "test"]].sum(axis=1)
    total = {"class": "total", **{c: int(table[c].sum()) for c in ("train", "val", "test", "total")}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def table_accuracy(results: Sequence[dict[str, Any]], baselines: Sequence[str]) -> pd.DataFrame:
    rows = [{**_run_columns(r), "accuracy": r["test"]["accuracy"], "macro F1": r["test"]["macro_f1"],
             "best epoch": r["training"]["best_epoch"], "epochs": len(r["training"]["history"])} for r in results]
    rows += [{"backbone": c.backbone, "strategy": c.strategy, "batch": c.batch_size, "seed": None, "run": c.source,
              "accuracy": c.accuracy, "macro F1": None, "best epoch": c.best_epoch, "epochs": None} for c in _cited(baselines)]
    return pd.DataFrame(rows)


def table_auc(results: Sequence[dict[str, Any]], baselines: Sequence[str]) -> pd.DataFrame:
    rows = []
    for r in results:
        per = r["test"]["per_class"]
        rows.append({**_run_columns(r), "AUC avg": r["test"]["auc_average"],
                     **{ABBREVIATIONS[c]: per[c]["auc"] for c in CLASSES}})
    for c in _cited(baselines):
        rows.append({"backbone": c.backbone, "strategy": c.strategy, "batch": c.batch_size, "seed": None, "run": c.source,
                     "AUC avg": c.auc_average, **{ABBREVIATIONS[k]: c.auc_per_class.get(k) for k in CLASSES}})
    return pd.DataFrame(rows)


def table_localisation(results: Sequence[dict[str, Any]], baselines: Sequence[str], explainers: Sequence[str],
                       stats: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per run and explainer (in ``explainers`` order); the baseline's LL on the
    same patches beside each."""
    rows = []
    for r in results:
        loc = r["localisation"]
        baseline = loc.get("baseline")
        per_run = (stats or {}).get("runs", {}).get(r["run_id"], {}).get("localisation", {})
        for name in explainers:
            scores = loc["explainers"].get(name)
            if scores is None or name == baseline:
                continue
            ll = scores["ll"]
            acc = r["test"]["accuracy"]
            rows.append({**_run_columns(r), "explainer": name, "LL": ll,
                         f"LL {baseline}": per_run.get(name, {}).get(loc["metric"], {}).get("baseline"), "accuracy": acc,
                         "Acc x LL": None if ll is None else acc * ll,
                         "scored": scores["n_scored"], "zero maps": scores["n_zero_maps"]})
    for c in _cited(baselines):
        if c.ll is not None:
            rows.append({"backbone": c.backbone, "strategy": c.strategy, "batch": c.batch_size, "seed": None, "run": c.source,
                         "explainer": "gradcam", "LL": c.ll, "accuracy": c.accuracy, "Acc x LL": c.acc_x_ll,
                         "scored": None, "zero maps": None})
    return pd.DataFrame(rows)


def table_classification_report(result: dict[str, Any]) -> pd.DataFrame:
    test = result["test"]
    rows = [{"class": c, "precision": test["per_class"][c]["precision"], "recall": test["per_class"][c]["recall"],
             "f1-score": test["per_class"][c]["f1"], "support": test["per_class"][c]["support"]} for c in CLASSES]
    rows.append({"class": "accuracy", "precision": None, "recall": None, "f1-score": test["accuracy"], "support": test["n"]})
    for avg in ("macro avg", "weighted avg"):
        a = test["averages"][avg]
        rows.append({"class": avg, "precision": a["precision"], "recall": a["recall"], "f1-score": a["f1"], "support": int(a["support"])})
    return pd.DataFrame(rows)


def table_confusion(result: dict[str, Any]) -> pd.DataFrame:
    abbr = [ABBREVIATIONS[c] for c in CLASSES]
    counts = result["test"]["confusion_matrix"]
    pct = result["test"]["confusion_matrix_row_percent"]
    cells = [[f"{n} ({p:.0f}%)" for n, p in zip(row_n, row_p)] for row_n, row_p in zip(counts, pct)]
    return pd.DataFrame(cells, index=[f"true {a}" for a in abbr], columns=[f"pred {a}" for a in abbr])


def results_frame(results: Sequence[dict[str, Any]], stats: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per run: everything a spreadsheet user wants (``results.csv``), with the
    bootstrap interval bounds when ``stats`` is given."""
    rows = []
    for r in results:
        row = {**_run_columns(r), "label": r["label"], "accuracy": r["test"]["accuracy"], "macro_f1": r["test"]["macro_f1"],
               "auc_average": r["test"]["auc_average"], "best_epoch": r["training"]["best_epoch"],
               "normaliser": r["normaliser"]["name"], "label_leak": r["normaliser"]["uses_labels"],
               "fingerprint": r["fingerprint"], "data_hash": r["data"]["hash"]}
        row |= {f"auc_{ABBREVIATIONS[c]}": r["test"]["per_class"][c]["auc"] for c in CLASSES}
        run_stats = (stats or {}).get("runs", {}).get(r["run_id"], {})
        for key in ("accuracy", "macro_f1", "auc_average"):
            if key in run_stats:
                row[f"{key}_ci_low"], row[f"{key}_ci_high"] = run_stats[key]["low"], run_stats[key]["high"]
        for name, scores in r["localisation"]["explainers"].items():
            row[f"ll_{name}"] = scores["ll"]
            entry = run_stats.get("localisation", {}).get(name, {}).get(r["localisation"]["metric"])
            if entry:
                row[f"ll_{name}_ci_low"], row[f"ll_{name}_ci_high"] = entry["low"], entry["high"]
        rows.append(row)
    return pd.DataFrame(rows)
