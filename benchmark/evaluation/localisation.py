"""The lesion-localisation (LL) score: explain, threshold, compare with the mask.

LL is the mean localisation score over *correctly classified lesion patches* of the test
split (background patches have no mask). Maps are computed in fp32 with the model in eval
mode and gradients enabled on every parameter (frozen layers would otherwise stop
Grad-CAM's gradients); the predicted class (here equal to the true one) is the target.
A map that is zero everywhere explains nothing: it is counted and not scored.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from benchmark.plugin_types import Explainer, Normaliser
from benchmark.training.device_data import DeviceSplit, to_input


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


def explain(model: nn.Module, explainer: Explainer, split: DeviceSplit, indices: np.ndarray, targets: np.ndarray,
            normaliser: Normaliser, batch_size: int) -> np.ndarray:
    """Maps (len(indices), S, S) for the patches at ``indices`` with the given targets."""
    out = []
    with explaining(model):
        for start in range(0, len(indices), batch_size):
            idx = torch.as_tensor(indices[start : start + batch_size], device=split.images.device)
            x = to_input(split.images[idx], split.labels[idx], normaliser)
            t = torch.as_tensor(targets[start : start + batch_size])
            out.append(np.asarray(explainer(x, t), dtype=np.float32))
    size = split.images.shape[-1]
    return np.concatenate(out) if out else np.zeros((0, size, size), np.float32)


def localisation_score(
    model: nn.Module, explainer: Explainer, metric: Callable[..., np.ndarray], metric_options: dict[str, Any],
    split: DeviceSplit, masks: np.ndarray, has_mask: np.ndarray, predictions: np.ndarray, normaliser: Normaliser,
    batch_size: int,
) -> dict[str, Any]:
    """LL and its per-patch scores on correctly classified lesion patches."""
    labels = split.labels.cpu().numpy()
    chosen = np.flatnonzero(has_mask & (predictions == labels))
    maps = explain(model, explainer, split, chosen, predictions[chosen], normaliser, batch_size)
    zero = maps.reshape(len(maps), -1).max(axis=1) <= 0 if len(maps) else np.zeros(0, bool)
    scored = chosen[~zero]
    scores = metric(maps[~zero], masks[scored], **metric_options) if len(scored) else np.zeros(0)
    return {
        "ll": float(np.mean(scores)) if len(scores) else None,
        "n_correct_lesions": int(len(chosen)),
        "n_scored": int(len(scored)),
        "n_zero_maps": int(zero.sum()),
        "patch_index": scored.tolist(),
        "scores": [float(s) for s in scores],
    }
