"""From a saliency map to a region: the threshold rules (``explain.localisation``).

``value`` keeps the pixels whose saliency reaches the value (maps in [0, 1]);
``top-percent`` keeps a fixed share of the most salient pixels; ``mask-area`` keeps as
many of the most salient pixels as the patch's lesion mask has, so that a map is
compared with the mask at equal area; ``otsu`` thresholds each map at Otsu's value
(OpenCV's, on the map quantised to 256 levels), which separates a map's salient pixels
from the rest without a global choice; ``validation`` is a value rule whose value is
chosen on the validation split (:func:`choose_on_validation`) and must be resolved to
that value (:func:`resolved`) before it is applied. A pixel of zero saliency never
belongs to a region: Grad-CAM's ReLU leaves many exact zeros, and a top-k rule must not
be filled with them. Pixels tied with the k-th value are all kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmark.spec.schema import Threshold

#: the value thresholds of the LL-threshold curve and of the validation choice
SWEEP: tuple[float, ...] = tuple(float(v) for v in np.round(np.linspace(0.05, 0.95, 19), 2))


def as_threshold(threshold: Threshold | Mapping[str, Any] | float | str | None) -> Threshold:
    """A rule from a spec object, its dict form, a bare value (``0.5``) or a rule name."""
    if threshold is None:
        return Threshold()
    if isinstance(threshold, Threshold):
        return threshold
    return Threshold.model_validate(threshold)


def resolved(rule: Threshold, chosen: float | None) -> Threshold:
    """``rule``, with a ``validation`` rule replaced by the value chosen for it."""
    if rule.rule != "validation":
        return rule
    if chosen is None:
        raise ValueError("the validation threshold has not been chosen (no validation patches were scored)")
    return Threshold(rule="value", value=chosen)


def choose_on_validation(curve: Sequence[float | None], values: Sequence[float] = SWEEP) -> float | None:
    """The value with the highest mean score on the validation split (the lowest such
    value on a tie); None when nothing was scored there."""
    scored = [(v, s) for v, s in zip(values, curve, strict=True) if s is not None and np.isfinite(s)]
    if not scored:
        return None
    best = max(s for _, s in scored)
    return next(v for v, s in scored if s == best)


def curve(
    metric: Callable[..., np.ndarray], maps: np.ndarray, masks: np.ndarray, values: Sequence[float] = SWEEP
) -> list[float | None]:
    """Mean score of a region metric at each value threshold (None with no patch)."""
    if len(maps) == 0:
        return [None] * len(values)
    return [round(float(np.mean(metric(maps, masks, threshold=Threshold(rule="value", value=v)))), 6) for v in values]


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


def otsu_regions(maps: np.ndarray) -> np.ndarray:
    """Each map thresholded at its own Otsu value (maps quantised to 0..255); a constant
    map has no region."""
    import cv2

    out = np.zeros(maps.shape, bool)
    levels = np.clip(np.rint(np.asarray(maps, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    for i, level in enumerate(levels):
        if level.min() == level.max():
            continue
        cut, _ = cv2.threshold(level, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        out[i] = level > cut
    return out


def binarise(
    maps: np.ndarray, masks: np.ndarray, threshold: Threshold | Mapping[str, Any] | float | str | None = None
) -> np.ndarray:
    """Boolean regions (N, H, W) of maps (N, H, W) under the rule; ``masks`` sets the
    area of the ``mask-area`` rule."""
    rule = as_threshold(threshold)
    if rule.rule == "value":
        return (maps >= rule.value) & (maps > 0)
    if rule.rule == "otsu":
        return otsu_regions(maps)
    if rule.rule == "validation":
        raise ValueError("a 'validation' threshold must be resolved to its chosen value before use")
    pixels = maps.shape[1] * maps.shape[2]
    if rule.rule == "top-percent":
        k = np.full(len(maps), math.ceil(rule.value / 100.0 * pixels))
    else:
        k = masks.reshape(len(masks), -1).sum(axis=1)
    return top_k_regions(maps, k)
