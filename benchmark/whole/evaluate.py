"""Image-level scores of a whole-image model: AUC with a stratified bootstrap interval,
ROC points, sensitivity at fixed specificity, the paired comparison of two models on
the same images, and localisation of their maps against every lesion of the image
(pointing game, IoU under the spec's threshold rule) beside random maps.

The bootstrap is the patch stage's (``benchmark/evaluation/bootstrap.py``): images are
resampled within each label, and two models scored on the same images share resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.evaluation.bootstrap import paired_p_value, percentile_interval, stratified_indices
from benchmark.spec.schema import Bootstrap, Threshold


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else float("nan")


def _auc_replicates(labels: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.array([_auc(labels[r], scores[r]) for r in rows])


def sensitivity_at(labels: np.ndarray, scores: np.ndarray, specificity: float) -> float:
    """The highest sensitivity of a threshold whose specificity is at least ``specificity``."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    ok = fpr <= 1.0 - specificity + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def classification(
    labels: np.ndarray, scores: np.ndarray, boot: Bootstrap, specificities: Sequence[float]
) -> dict[str, Any]:
    """AUC [interval], ROC points and sensitivity at each specificity, of one model."""
    from sklearn.metrics import roc_curve

    rows = stratified_indices(labels, boot.resamples, boot.seed)
    auc = percentile_interval(_auc(labels, scores), _auc_replicates(labels, scores, rows), boot.confidence)
    fpr, tpr, _ = roc_curve(labels, scores)
    return {
        "auc": auc.to_dict(),
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
        "sensitivity_at": {f"{s:g}": sensitivity_at(labels, scores, s) for s in specificities},
        "images": int(len(labels)),
        "malignant": int(labels.sum()),
    }


def paired(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, boot: Bootstrap) -> dict[str, Any]:
    """AUC of A minus AUC of B on the same images: paired bootstrap interval and p."""
    rows = stratified_indices(labels, boot.resamples, boot.seed)
    diff = _auc_replicates(labels, scores_a, rows) - _auc_replicates(labels, scores_b, rows)
    interval = percentile_interval(_auc(labels, scores_a) - _auc(labels, scores_b), diff, boot.confidence)
    return {"difference": interval.to_dict(), "p_value": paired_p_value(diff)}


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """1 where the map's maximum lies in a lesion, per image. A sliding-window map has
    plateaus: a hit is any pixel of the maximal value inside a lesion; a constant map
    points nowhere and scores 0."""
    flat, inside = maps.reshape(len(maps), -1), masks.reshape(len(masks), -1)
    top = flat >= flat.max(axis=1, keepdims=True)
    return ((top & inside).any(axis=1) & (flat.max(axis=1) > flat.min(axis=1))).astype(float)


def iou(maps: np.ndarray, masks: np.ndarray, threshold: Threshold) -> np.ndarray:
    """IoU of each map's region under the rule with all lesions of the image."""
    from benchmark.evaluation.thresholds import binarise

    rule = threshold if threshold.rule != "validation" else Threshold()  # nothing is chosen at image level
    region = binarise(maps, masks, rule)
    union = (region | masks).reshape(len(maps), -1).sum(1)
    return np.where(union > 0, (region & masks).reshape(len(maps), -1).sum(1) / np.maximum(union, 1), 0.0)


def localisation(maps: np.ndarray, masks: np.ndarray, threshold: Threshold, seed: int) -> dict[str, Any]:
    """Pointing game and IoU of the maps and of uniform random maps, on the images that
    have a lesion mask."""
    has = masks.reshape(len(masks), -1).any(1)
    maps, masks = maps[has], masks[has]
    noise = np.random.default_rng(seed).random(maps.shape, dtype=np.float32)
    rule = threshold if threshold.rule != "validation" else Threshold()
    return {
        "images": int(has.sum()),
        "threshold": rule.label(),
        "pointing_game": float(pointing_game(maps, masks).mean()) if len(maps) else None,
        "pointing_game_random": float(pointing_game(noise, masks).mean()) if len(maps) else None,
        "iou": float(iou(maps, masks, rule).mean()) if len(maps) else None,
        "iou_random": float(iou(noise, masks, rule).mean()) if len(maps) else None,
    }
