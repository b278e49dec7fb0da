"""``prototype-activation``: where a prototype network sees its target class.

The map of a patch for class c is the similarity maps of c's prototypes, weighted by
their (positive) last-layer weights to c and summed: the very quantities the decision is
made of, upsampled to the patch and min-max scaled to [0, 1]. The factory declines (returns
None) for a network without prototypes, so a spec may list it beside plain CNNs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.api import Backbone, PanelContext
from plugins.prototypes.gallery import looks_like, prototype_gallery
from plugins.prototypes.network import ProtoPNet, similarity


def class_activation(model: ProtoPNet, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, S, S) maps in [0, 1] of the target class's prototypes, weighted by the last layer."""
    sims = similarity(model.distance_maps(images).float())  # (B, P, H, W)
    weights = model.last_layer.weight[targets].clamp(min=0) * model.identity[:, targets].t()  # (B, P)
    coarse = (sims * weights[:, :, None, None]).sum(dim=1, keepdim=True)
    maps = nn.functional.interpolate(coarse, size=tuple(images.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
    lo = maps.amin(dim=(1, 2), keepdim=True)
    hi = maps.amax(dim=(1, 2), keepdim=True)
    return (maps - lo) / (hi - lo).clamp(min=1e-7)


class PrototypeActivation:
    """The prototype activation map of the target class (see the module docstring)."""

    def __init__(self, model: ProtoPNet) -> None:
        self.model = model

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        return class_activation(self.model, images, targets.to(images.device)).cpu().numpy()

    def panels(self, context: PanelContext) -> list[dict]:
        """The prototype gallery and "this looks like that" rows (``gallery.py``)."""
        return [prototype_gallery(self.model, context), looks_like(self.model, context)]


def prototype_activation(backbone: Backbone, **_: Any) -> PrototypeActivation | None:
    """The explainer, or None (declined) when the model has no prototypes."""
    return PrototypeActivation(backbone.model) if isinstance(backbone.model, ProtoPNet) else None
