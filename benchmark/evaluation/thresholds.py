"""From a saliency map to a region: the spec's threshold rule (``explain.localisation.threshold``).

``value`` keeps the pixels whose saliency reaches the value (the study's rule, maps in
[0, 1]); ``top-percent`` keeps a fixed share of the most salient pixels; ``mask-area``
keeps as many of the most salient pixels as the patch's lesion mask has, so that a map
is compared with the mask at equal area. A pixel of zero saliency never belongs to a
region: Grad-CAM's ReLU leaves many exact zeros, and a top-k rule must not be filled
with them. Pixels tied with the k-th value are all kept.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from benchmark.spec.schema import Threshold


def as_threshold(threshold: Threshold | Mapping[str, Any] | float | None) -> Threshold:
    """A rule from a spec object, its dict form or a bare value (``0.5``)."""
    if threshold is None:
        return Threshold()
    if isinstance(threshold, Threshold):
        return threshold
    if isinstance(threshold, Mapping):
        return Threshold.model_validate(threshold)
    return Threshold(rule="value", value=float(threshold))


def top_k_regions(maps: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The ``k[i]`` most salient pixels of each map ``i`` (ties kept, zeros never)."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    if n == 0:
        return np.zeros(maps.shape, bool)
    k = np.clip(np.asarray(k, dtype=np.int64), 0, flat.shape[1])
    descending = -np.sort(-flat, axis=1)
    cutoff = descending[np.arange(n), np.maximum(k - 1, 0)]
    region = (flat >= cutoff[:, None]) & (flat > 0) & (k[:, None] > 0)
    return region.reshape(maps.shape)


def binarise(maps: np.ndarray, masks: np.ndarray, threshold: Threshold | Mapping[str, Any] | float | None = None) -> np.ndarray:
    """Boolean regions (N, H, W) of maps (N, H, W) under the rule; ``masks`` sets the
    area of the ``mask-area`` rule."""
    rule = as_threshold(threshold)
    if rule.rule == "value":
        return maps >= rule.value
    pixels = maps.shape[1] * maps.shape[2]
    if rule.rule == "top-percent":
        k = np.full(len(maps), math.ceil(rule.value / 100.0 * pixels))
    else:
        k = masks.reshape(len(masks), -1).sum(axis=1)
    return top_k_regions(maps, k)
