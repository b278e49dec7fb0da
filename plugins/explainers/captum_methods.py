"""Captum's attribution methods (``captum.attr``) as explainers: Integrated Gradients,
SmoothGrad (a noise tunnel over plain gradients), occlusion and guided backpropagation.

Each gives an attribution per input pixel and channel for one explicit target class per
image; the map is its absolute value summed over the channels and min-max scaled per
image to [0, 1], at input resolution, computed in batches on the model's device. The
same localisation, faithfulness and sanity evaluation applies to them as to the CAMs.
Arun et al. 2021 compared methods of these families on chest radiographs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import Backbone

if TYPE_CHECKING:
    import torch


class IntegratedGradientsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(32, ge=2, le=1024, description="points on the path from the baseline (zero) to the image")
    internal_batch_size: int = Field(64, ge=1, le=4096)


class SmoothGradOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: int = Field(16, ge=1, le=1024, description="noisy copies averaged per image")
    stdev: float = Field(0.15, gt=0.0, le=10.0, description="noise standard deviation, in normalised units")
    seed: int = Field(0, ge=0)


class OcclusionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: float = Field(0.125, gt=0.0, le=1.0, description="side of the occluding square, a share of the patch side")
    stride: float = Field(0.0625, gt=0.0, le=1.0, description="step of the window, a share of the patch side")
    perturbations_per_eval: int = Field(16, ge=1, le=4096)


def _to_map(attribution: torch.Tensor) -> np.ndarray:
    """|attribution| summed over channels, min-max scaled per image (a flat map: zeros)."""
    summed = attribution.detach().float().abs().sum(dim=1)
    lo = summed.amin(dim=(1, 2), keepdim=True)
    hi = summed.amax(dim=(1, 2), keepdim=True)
    return ((summed - lo) / (hi - lo).clamp_min(1e-12)).cpu().numpy().astype(np.float32)


@contextlib.contextmanager
def _out_of_place_relus(model: torch.nn.Module) -> Iterator[None]:
    """Captum's module hooks cannot see through an in-place ReLU: make them out of place
    for the attribution, then restore them."""
    import torch

    changed = [m for m in model.modules() if isinstance(m, torch.nn.ReLU) and m.inplace]
    for m in changed:
        m.inplace = False
    try:
        yield
    finally:
        for m in changed:
            m.inplace = True


class CaptumMethod:
    """One captum.attr method on the backbone's whole model."""

    def __init__(self, backbone: Backbone) -> None:
        self.model = backbone.model

    def attribute(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        targets = targets.long().to(images.device)
        with _out_of_place_relus(self.model):
            return _to_map(self.attribute(images.float().requires_grad_(True), targets))


class IntegratedGradients(CaptumMethod):
    """Integrated Gradients (Sundararajan et al. 2017) from a zero (mean) image."""

    def __init__(self, backbone: Backbone, steps: int = 32, internal_batch_size: int = 64) -> None:
        super().__init__(backbone)
        self.steps, self.internal_batch_size = steps, internal_batch_size

    def attribute(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        from captum.attr import IntegratedGradients as Method

        return Method(self.model).attribute(
            images, baselines=0.0, target=targets, n_steps=self.steps, internal_batch_size=self.internal_batch_size
        )


class SmoothGrad(CaptumMethod):
    """SmoothGrad (Smilkov et al. 2017): gradients averaged over noisy copies (NoiseTunnel)."""

    def __init__(self, backbone: Backbone, samples: int = 16, stdev: float = 0.15, seed: int = 0) -> None:
        super().__init__(backbone)
        self.samples, self.stdev, self.seed = samples, stdev, seed

    def attribute(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        import torch
        from captum.attr import NoiseTunnel, Saliency

        with torch.random.fork_rng(devices=[images.device] if images.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            return NoiseTunnel(Saliency(self.model)).attribute(
                images, nt_type="smoothgrad", nt_samples=self.samples, stdevs=self.stdev, target=targets, abs=False
            )


class Occlusion(CaptumMethod):
    """Occlusion (Zeiler and Fergus 2014): the output's change as a zero square slides over the image."""

    def __init__(
        self, backbone: Backbone, window: float = 0.125, stride: float = 0.0625, perturbations_per_eval: int = 16
    ) -> None:
        super().__init__(backbone)
        self.window, self.stride, self.per_eval = window, stride, perturbations_per_eval

    def attribute(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        import torch
        from captum.attr import Occlusion as Method

        side = images.shape[-1]
        window = max(1, round(self.window * side))
        stride = max(1, round(self.stride * side))
        with torch.no_grad():
            return Method(self.model).attribute(
                images.detach(),
                sliding_window_shapes=(images.shape[1], window, window),
                strides=(images.shape[1], stride, stride),
                baselines=0.0,
                target=targets,
                perturbations_per_eval=self.per_eval,
            )


class GuidedBackprop(CaptumMethod):
    """Guided backpropagation (Springenberg et al. 2015): gradients with the ReLUs passing
    only positive gradients."""

    def attribute(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        import warnings

        from captum.attr import GuidedBackprop as Method

        with warnings.catch_warnings():  # "setting backward hooks on ReLU activations": what it is for
            warnings.simplefilter("ignore", UserWarning)
            return Method(self.model).attribute(images, target=targets)


#: registered name -> (class, options model, description)
METHODS: dict[str, tuple[str, Any, str]] = {
    "integrated-gradients": (
        "IntegratedGradients",
        IntegratedGradientsOptions,
        "Captum Integrated Gradients from a zero image, |attribution| summed over channels",
    ),
    "smoothgrad": ("SmoothGrad", SmoothGradOptions, "Captum SmoothGrad (NoiseTunnel over gradients)"),
    "occlusion": (
        "Occlusion",
        OcclusionOptions,
        "Captum occlusion with a sliding zero square (slow: many forward passes)",
    ),
    "guided-backprop": ("GuidedBackprop", None, "Captum guided backpropagation"),
}
