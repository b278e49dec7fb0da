"""Localisation metrics: how well a saliency map covers the radiologist's lesion mask."""

from __future__ import annotations

import numpy as np

from benchmark.hookspecs import hookimpl


def iou(maps: np.ndarray, masks: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The study's LL per patch: IoU of ``map >= threshold`` with the mask."""
    hot = maps >= threshold
    masks = masks.astype(bool)
    inter = (hot & masks).sum(axis=(1, 2))
    union = (hot | masks).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


@hookimpl
def register_localisation_metrics(register):
    register("iou", iou)
