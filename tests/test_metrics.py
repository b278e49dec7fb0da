"""Metrics agree with scikit-learn on known inputs; a class absent from the labels has no AUC."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from benchmark.data.classes import CLASSES
from benchmark.evaluation.metrics import classification_metrics


def test_metrics_on_a_known_example() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 20)
    logits = rng.normal(size=(100, 5)) + 2.0 * np.eye(5)[y]
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = classification_metrics(y, proba, CLASSES)
    pred = proba.argmax(1)
    assert m["accuracy"] == pytest.approx((pred == y).mean())
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    for k, name in enumerate(CLASSES):
        assert m["per_class"][name]["auc"] == pytest.approx(roc_auc_score(y == k, proba[:, k]))
        assert m["per_class"][name]["support"] == 20
    assert m["auc_average"] == pytest.approx(np.mean([roc_auc_score(y == k, proba[:, k]) for k in range(5)]))
    cm = np.array(m["confusion_matrix"])
    assert cm.sum() == 100 and np.trace(cm) == (pred == y).sum()
    assert np.allclose(np.array(m["confusion_matrix_row_percent"]).sum(1), 100.0)


def test_absent_class_has_no_auc_and_is_left_out_of_the_average() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.full((6, 5), 0.1)
    proba[np.arange(6), y] = 0.6
    m = classification_metrics(y, proba, CLASSES)
    assert m["per_class"]["malignant_mass"]["auc"] is None
    assert m["auc_average"] == pytest.approx(1.0)
