"""IoU of a saliency region with the lesion mask: the study's LL score, and its sweep."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.api import SWEEP, Threshold, binarise


def region_iou(regions: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """IoU per patch of boolean regions with boolean masks (0 when both are empty)."""
    masks = masks.astype(bool)
    inter = (regions & masks).sum(axis=(1, 2))
    union = (regions | masks).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def iou(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | float | None = 0.5) -> np.ndarray:
    """The study's LL per patch: IoU of the map's region under the spec's threshold rule
    (``map >= 0.5`` when none is given) with the lesion mask."""
    return region_iou(binarise(maps, masks, threshold), masks)


def iou_sweep(
    maps: np.ndarray, masks: np.ndarray, threshold: Threshold | float | None = None, values: Sequence[float] = SWEEP
) -> np.ndarray:
    """Mean IoU over the value thresholds 0.05, 0.10, ..., 0.95: the LL without the choice
    of one threshold (the area under the IoU-threshold curve). ``threshold`` is unused."""
    masks = masks.astype(bool)
    if len(maps) == 0:
        return np.zeros(0)
    return np.mean([region_iou(maps >= v, masks) for v in values], axis=0)
