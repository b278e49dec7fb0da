"""The lesion-localisation (LL) score and its companions: explain, then compare with the mask.

LL is the mean localisation score over *correctly classified lesion patches* of the test
split (background patches have no mask). Maps are computed in fp32 with the model in
eval mode and gradients enabled on every parameter (frozen layers would otherwise stop
Grad-CAM's gradients); the predicted class (here equal to the true one) is the one
explicit target of each image. A map that is zero everywhere explains nothing: it is
counted and named, not scored. Every explainer, the baseline included, is scored by every
metric on the same patches.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from benchmark.plugin_types import Explainer, Normaliser
from benchmark.spec.schema import Threshold
from benchmark.training.device_data import DeviceSplit, to_input

#: how far outside [0, 1] an explainer's values may stray (float rounding) before it is an error
RANGE_TOLERANCE = 1e-3


@contextlib.contextmanager
def explaining(model: nn.Module) -> Iterator[None]:
    """Eval mode, every parameter requiring grad, fp32; restores requires_grad after."""
    before = {id(p): p.requires_grad for p in model.parameters()}
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    try:
        with torch.enable_grad(), torch.autocast(device_type="cuda", enabled=False):
            yield
    finally:
        for p in model.parameters():
            p.requires_grad_(before[id(p)])
        model.zero_grad(set_to_none=True)


def _checked(maps: Any, n: int, size: tuple[int, int], explainer: Explainer) -> np.ndarray:
    """The explainer's maps as float32 (n, H, W) in [0, 1], or a clear error."""
    if isinstance(maps, torch.Tensor):
        maps = maps.detach().float().cpu().numpy()
    maps = np.asarray(maps, dtype=np.float32)
    name = type(explainer).__name__
    if maps.shape != (n, *size):
        raise ValueError(f"explainer {name} returned maps of shape {maps.shape}; expected {(n, *size)}")
    if n and (not np.isfinite(maps).all() or maps.min() < -RANGE_TOLERANCE or maps.max() > 1 + RANGE_TOLERANCE):
        raise ValueError(f"explainer {name} returned values outside [0, 1] (or not finite)")
    return np.clip(maps, 0.0, 1.0)


def explain(model: nn.Module, explainer: Explainer, split: DeviceSplit, indices: np.ndarray, targets: np.ndarray,
            normaliser: Normaliser, batch_size: int) -> np.ndarray:
    """Maps (len(indices), S, S) for the patches at ``indices``, one explicit target each."""
    indices, targets = np.asarray(indices), np.asarray(targets)
    if indices.shape != targets.shape:
        raise ValueError(f"one target per image: {len(targets)} targets for {len(indices)} patches")
    size = tuple(split.images.shape[-2:])
    out = []
    with explaining(model):
        for start in range(0, len(indices), batch_size):
            idx = torch.as_tensor(indices[start : start + batch_size], device=split.images.device)
            x = to_input(split.images[idx], split.labels[idx], normaliser)
            t = torch.as_tensor(targets[start : start + batch_size], device=split.images.device)
            out.append(_checked(explainer(x, t), len(idx), size, explainer))
    return np.concatenate(out) if out else np.zeros((0, *size), np.float32)


def correct_lesions(has_mask: np.ndarray, predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Positions (in the split) of the patches LL is computed on."""
    return np.flatnonzero(has_mask & (predictions == labels))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def score_maps(maps: np.ndarray, masks: np.ndarray, metrics: Mapping[str, Callable[..., np.ndarray]],
               threshold: Threshold) -> dict[str, np.ndarray]:
    """Every metric's score per patch for maps already explained (zero maps removed)."""
    return {name: np.asarray(fn(maps, masks, threshold=threshold), dtype=float) for name, fn in metrics.items()}


def localisation_scores(
    model: nn.Module, explainer: Explainer, metrics: Mapping[str, Callable[..., np.ndarray]], ll_metric: str,
    threshold: Threshold, split: DeviceSplit, masks: np.ndarray, has_mask: np.ndarray, predictions: np.ndarray,
    normaliser: Normaliser, batch_size: int,
) -> dict[str, Any]:
    """LL (the ``ll_metric``) and every metric's per-patch scores on correctly classified
    lesion patches. ``patch_index`` and ``zero_map_index`` are positions in the split."""
    labels = split.labels.cpu().numpy()
    chosen = correct_lesions(has_mask, predictions, labels)
    maps = explain(model, explainer, split, chosen, predictions[chosen], normaliser, batch_size)
    zero = maps.reshape(len(maps), -1).max(axis=1) <= 0 if len(maps) else np.zeros(0, bool)
    scored = chosen[~zero]
    scores = score_maps(maps[~zero], masks[scored], metrics, threshold) if len(scored) else {m: np.zeros(0) for m in metrics}
    ll = scores[ll_metric]
    return {
        "ll": float(np.mean(ll)) if len(ll) else None,
        "n_correct_lesions": int(len(chosen)),
        "n_scored": int(len(scored)),
        "n_zero_maps": int(zero.sum()),
        "zero_map_index": chosen[zero].tolist(),
        "patch_index": scored.tolist(),
        "scores": _rounded(ll),
        "metrics": {name: {"mean": float(np.mean(s)) if len(s) else None, "scores": _rounded(s)}
                    for name, s in scores.items() if name != ll_metric},
    }
