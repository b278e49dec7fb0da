"""Does the map point at the lesion? The pointing game and its energy-based variant."""

from __future__ import annotations

import numpy as np

from benchmark.api import Threshold


def pointing_game(
    maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None, tolerance: int = 0
) -> np.ndarray:
    """1 where the map's most salient pixel (the first in raster order if tied) lies in the
    mask grown by ``tolerance`` pixels, else 0 (Zhang et al. 2016). ``threshold`` is unused."""
    masks = masks.astype(bool)
    if tolerance > 0 and len(masks):
        from scipy import ndimage

        disc = np.hypot(*np.mgrid[-tolerance : tolerance + 1, -tolerance : tolerance + 1]) <= tolerance
        masks = ndimage.binary_dilation(masks, structure=disc[None])
    n = len(maps)
    peak = maps.reshape(n, -1).argmax(axis=1)
    return masks.reshape(n, -1)[np.arange(n), peak].astype(float)


def bounding_boxes(masks: np.ndarray) -> np.ndarray:
    """Each mask's bounding box, filled (N, H, W) bool."""
    rows, cols = np.asarray(masks.any(axis=2)), np.asarray(masks.any(axis=1))

    def span(hit: np.ndarray) -> np.ndarray:  # from the first hit to the last
        return np.logical_or.accumulate(hit, axis=1) & np.logical_or.accumulate(hit[:, ::-1], axis=1)[:, ::-1]

    return span(rows)[:, :, None] & span(cols)[:, None, :]


def energy_pointing_game(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the map's total saliency inside the mask's bounding box (Wang et al. 2020,
    Score-CAM). ``threshold`` is unused."""
    box = bounding_boxes(masks.astype(bool))
    total = maps.sum(axis=(1, 2))
    inside = (maps * box).sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0)
