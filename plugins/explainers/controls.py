"""Model-free control maps: what a localisation or faithfulness score reaches without
looking at any model (Quantus calls them control explainers).

A lesion patch is cut around its lesion, so a map that knows nothing of the model can
overlap the mask well: the whole patch when the lesion fills it (``constant``), a blob
in the middle when the patch has a margin (``centre``), the bright pixels when lesions
are brighter than tissue (``intensity``), the lesion's outline (``edges``). A score is
evidence about the *model* only where it beats the strongest of these at the same
settings. ``intensity`` and ``edges`` read the patch as stored, before normalisation
(``input = "raw"``); all of them ignore the target class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from benchmark.api import Backbone

if TYPE_CHECKING:
    import torch


def _scaled(maps: torch.Tensor) -> torch.Tensor:
    """Per-map min-max scaling to [0, 1]; a flat map becomes all zeros."""
    lo = maps.amin(dim=(-2, -1), keepdim=True)
    hi = maps.amax(dim=(-2, -1), keepdim=True)
    return (maps - lo) / (hi - lo).clamp_min(1e-12)


class ControlMaps:
    """Base of the controls: built for any backbone (they never use it)."""

    input: ClassVar[str] = "normalised"

    def __init__(self, backbone: Backbone | None = None) -> None:
        del backbone

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        return self.maps(images.detach().float()).cpu().numpy().astype(np.float32)


class ConstantMaps(ControlMaps):
    """Every pixel 1: "the whole patch". At a value threshold its IoU is the share of the
    patch the mask covers; a per-map rule such as Otsu finds no region in it."""

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        n, _, h, w = images.shape
        return torch.ones((n, h, w), dtype=torch.float32, device=images.device)


class CentreMaps(ControlMaps):
    """A Gaussian centred on the patch, sigma a quarter of the side, min-max scaled:
    where a lesion patch's lesion is by construction."""

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        n, _, h, w = images.shape
        y = torch.arange(h, dtype=torch.float32, device=images.device) - (h - 1) / 2
        x = torch.arange(w, dtype=torch.float32, device=images.device) - (w - 1) / 2
        blob = torch.exp(-((y[:, None] / (h / 4)) ** 2) / 2 - (x[None, :] / (w / 4)) ** 2 / 2)
        return _scaled(blob).expand(n, h, w).contiguous()


class IntensityMaps(ControlMaps):
    """The patch's own brightness (channel mean before normalisation), min-max scaled
    per patch: lesions are often brighter than the tissue around them."""

    input: ClassVar[str] = "raw"

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        return _scaled(images.mean(dim=1))


class EdgeMaps(ControlMaps):
    """Sobel gradient magnitude of the patch's brightness (before normalisation), min-max
    scaled per patch: the outlines of whatever is in the patch."""

    input: ClassVar[str] = "raw"

    def maps(self, images: torch.Tensor) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        grey = images.mean(dim=1, keepdim=True)
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=images.device)
        kernels = torch.stack([sobel, sobel.T])[:, None]  # d/dx, d/dy
        padded = F.pad(grey, (1, 1, 1, 1), mode="replicate")
        gradient = F.conv2d(padded, kernels)
        return _scaled(gradient.pow(2).sum(dim=1).sqrt())
