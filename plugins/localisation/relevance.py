"""How much of the saliency lies on the lesion: relevance mass and relevance rank accuracy
(Arras et al. 2022, the CLEVR-XAI ground-truth evaluation)."""

from __future__ import annotations

import numpy as np

from benchmark.api import Threshold


def relevance_mass(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the map's total saliency inside the mask. ``threshold`` is unused."""
    masks = masks.astype(bool)
    total = maps.sum(axis=(1, 2))
    inside = (maps * masks).sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0)


def relevance_rank(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """Share of the K most salient pixels that lie in the mask, K being the mask's area.
    Pixels tied at the K-th value count by their expected share (as if the tie were broken
    at random), so a flat map scores the mask's share of the patch, not 1; a pixel of zero
    saliency never counts. ``threshold`` is unused."""
    masks = masks.astype(bool)
    n = len(maps)
    if n == 0:
        return np.zeros(0)
    flat, inside = maps.reshape(n, -1), masks.reshape(n, -1)
    area = inside.sum(axis=1)
    k = np.clip(area, 0, flat.shape[1])
    cutoff = -np.sort(-flat, axis=1)[np.arange(n), np.maximum(k - 1, 0)]
    above = flat > cutoff[:, None]
    tied = (flat == cutoff[:, None]) & (cutoff[:, None] > 0)
    n_above, n_tied = above.sum(axis=1), tied.sum(axis=1)
    share_tied = np.where(n_tied > 0, (tied & inside).sum(axis=1) / np.maximum(n_tied, 1), 0.0)
    hits = (above & inside).sum(axis=1) + np.clip(k - n_above, 0, None) * share_tied
    return np.where(area > 0, hits / np.maximum(area, 1), 0.0)
