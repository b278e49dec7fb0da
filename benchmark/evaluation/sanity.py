"""Sanity check for explainers (Adebayo et al. 2018, "Sanity checks for saliency maps"):
cascading model-parameter randomisation.

The trained model's layer groups are re-initialised from the head down, one more group
per step, and each explainer's maps of a few test patches are compared with the maps of
the trained model by Spearman rank correlation (per patch, then averaged). Maps that
explain the *model* must drift away as it is destroyed; an explainer whose maps stay
similar after every group is random describes the image, not what the model learned,
and is flagged. A copy of the model is randomised; the trained one is untouched.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import numpy as np
import torch

from benchmark.evaluation.localisation import explain
from benchmark.plugin_types import Backbone, ExplainerFactory, LayerGroup, Normaliser
from benchmark.training.device_data import DeviceSplit


def spearman_per_patch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps (N, H, W); 0 where one map is
    constant (a map that became flat shares no ranking with the original)."""
    from scipy.stats import rankdata

    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    return np.where(denom > 0, (ra * rb).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)


def randomise_group(group: LayerGroup, seed: int) -> None:
    """Re-initialise a group's parameters as its layers initialise themselves
    (``reset_parameters``); parameters no layer resets are redrawn from N(0, their std)."""
    device = next(iter(group.parameters()), torch.empty(0)).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        reset: set[int] = set()
        for top in group.modules:
            for module in top.modules():
                if callable(getattr(module, "reset_parameters", None)):
                    module.reset_parameters()
                    reset.update(id(p) for p in module.parameters(recurse=False))
        for p in group.parameters():
            if id(p) not in reset:
                p.normal_(0.0, float(p.std()) if p.numel() > 1 else 0.02)


def sanity_patches(candidates: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` of the candidate positions, evenly spread (deterministic)."""
    if len(candidates) <= count:
        return candidates
    return candidates[np.linspace(0, len(candidates) - 1, count).round().astype(int)]


def cascading_randomisation(
    backbone: Backbone, factories: Mapping[str, ExplainerFactory], split: DeviceSplit, indices: np.ndarray,
    targets: np.ndarray, normaliser: Normaliser, batch_size: int, seed: int, flag_above: float,
) -> dict[str, Any]:
    """Mean Spearman correlation with the trained model's maps after each cascade step,
    per explainer, and whether each explainer is flagged."""
    original = {name: explain(backbone.model, make(backbone), split, indices, targets, normaliser, batch_size)
                for name, make in factories.items()}
    clone = copy.deepcopy(backbone)  # groups and target layer stay consistent with the copied model
    steps: list[str] = []
    curves: dict[str, list[float]] = {name: [] for name in factories}
    for step, group in enumerate(reversed(clone.groups)):
        randomise_group(group, seed + step)
        steps.append(group.name)
        for name, make in factories.items():
            maps = explain(clone.model, make(clone), split, indices, targets, normaliser, batch_size)
            curves[name].append(round(float(np.mean(spearman_per_patch(original[name], maps))), 4))
    del clone
    return {
        "n_patches": int(len(indices)),
        "steps": steps,
        "flag_above": flag_above,
        "explainers": {name: {"spearman": curve, "flagged": bool(curve and curve[-1] >= flag_above)}
                       for name, curve in curves.items()},
    }
