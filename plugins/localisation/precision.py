"""Activation precision (IAIA-BL, Barnett et al. 2021): how much of a map's strongest
activation falls on the lesion."""

from __future__ import annotations

import numpy as np

from benchmark.api import Threshold

#: IAIA-BL's top 5%: pixels at or above the map's 95th percentile
PERCENTILE = 95.0


def activation_precision(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the pixels at or above each map's 95th percentile that lie in the mask
    (IAIA-BL's definition; ties at the percentile count as top). ``threshold`` is unused."""
    masks = masks.astype(bool)
    cut = np.percentile(maps.reshape(len(maps), -1), PERCENTILE, axis=1)[:, None, None]
    top = maps >= cut
    return (top & masks).sum(axis=(1, 2)) / np.maximum(top.sum(axis=(1, 2)), 1)
