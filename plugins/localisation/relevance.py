"""How much of the saliency lies on the lesion: relevance mass and relevance rank accuracy
(Arras et al. 2022, the CLEVR-XAI ground-truth evaluation)."""

from __future__ import annotations

import numpy as np

from benchmark.api import Threshold, top_k_regions


def relevance_mass(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the map's total saliency inside the mask. ``threshold`` is unused."""
    masks = masks.astype(bool)
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0)


def relevance_rank(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the K most salient pixels that lie in the mask, K being the mask's area.
    ``threshold`` is unused."""
    masks = masks.astype(bool)
    area = masks.sum(axis=(1, 2))
    top = top_k_regions(maps, area)
    return np.where(area > 0, (top & masks).sum(axis=(1, 2)) / np.maximum(area, 1), 0.0)
