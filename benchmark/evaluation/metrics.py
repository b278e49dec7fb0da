"""The study's classification metrics, from scikit-learn.

Accuracy; per-class precision, recall, F1 and support with macro and weighted averages
(the layout of scikit-learn's classification report, as in the study); one-vs-rest AUC
per class and their average; the confusion matrix as counts and as row percentages.
A class absent from the test labels has no AUC (reported as missing, not as 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    roc_auc_score,
)


def _auc_per_class(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> list[float | None]:
    out: list[float | None] = []
    for k in range(n_classes):
        positives = y_true == k
        if positives.all() or not positives.any():
            out.append(None)
        else:
            out.append(float(roc_auc_score(positives, proba[:, k])))
    return out


def classification_metrics(y_true: Sequence[int], proba: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    truth = np.asarray(y_true, dtype=int)
    y_pred = proba.argmax(axis=1)
    labels = list(range(len(class_names)))
    report = classification_report(
        truth, y_pred, labels=labels, target_names=list(class_names), output_dict=True, zero_division=0
    )
    aucs = _auc_per_class(truth, proba, len(class_names))
    defined = [a for a in aucs if a is not None]
    cm = confusion_matrix(truth, y_pred, labels=labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_pct = np.where(cm.sum(1, keepdims=True) > 0, 100.0 * cm / cm.sum(1, keepdims=True), 0.0)
    return {
        "n": int(len(truth)),
        "accuracy": float(accuracy_score(truth, y_pred)),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "weighted_f1": float(report["weighted avg"]["f1-score"]),
        "per_class": {
            name: {
                "precision": float(report[name]["precision"]),
                "recall": float(report[name]["recall"]),
                "f1": float(report[name]["f1-score"]),
                "support": int(report[name]["support"]),
                "auc": aucs[k],
            }
            for k, name in enumerate(class_names)
        },
        "averages": {
            avg: {
                key: float(report[avg][src])
                for key, src in (
                    ("precision", "precision"),
                    ("recall", "recall"),
                    ("f1", "f1-score"),
                    ("support", "support"),
                )
            }
            for avg in ("macro avg", "weighted avg")
        },
        "auc_average": float(np.mean(defined)) if defined else None,
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_row_percent": np.round(row_pct, 2).tolist(),
    }
