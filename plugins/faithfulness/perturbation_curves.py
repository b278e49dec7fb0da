"""Deletion and insertion (Petsiuk et al. 2018, "RISE: Randomized Input Sampling for
Explanation of Black-box Models"), batched on the model's device.

Deletion replaces the most relevant pixels first, ``steps`` equal shares at a time, by
zero (in normalised units: the normaliser's mean, as RISE deletes to black); insertion
starts from a blurred copy of the image and puts the most relevant pixels back first.
The target class's probability is recorded at every step, from nothing removed (or
revealed) to everything; its area (trapezoid rule over the share of pixels) is the
curve's value, reported as a drop: the unperturbed probability minus that area.
Deletion's drop is large for a map that finds what the model uses; insertion's is small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import FaithfulnessScores

if TYPE_CHECKING:
    import torch


class CurveOptions(BaseModel):
    """``{name: deletion, options: {steps: 10, blur_sigma: 0.02}}``."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(10, ge=2, le=1000, description="equal shares of the pixels removed (or revealed) per step")
    blur_sigma: float = Field(
        0.022,
        gt=0.0,
        le=1.0,
        description="insertion's starting blur, as a share of the side (RISE: sigma 5 at 224 pixels)",
    )
    seed: int = Field(0, ge=0, description="seed of the order of tied pixels")
    batch_size: int = Field(128, ge=1, le=65536, description="perturbed images per forward pass")


def _blurred(inputs: torch.Tensor, sigma_share: float) -> torch.Tensor:
    """A Gaussian blur of each channel (reflected borders), sigma a share of the side."""
    import torch
    import torch.nn.functional as F

    sigma = max(sigma_share * inputs.shape[-1], 0.5)
    radius = int(np.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=inputs.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    n, c, h, w = inputs.shape
    flat = inputs.reshape(n * c, 1, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel.reshape(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel.reshape(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def _curve(
    model: Any, inputs: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, o: CurveOptions, insertion: bool
) -> FaithfulnessScores:
    import torch

    from benchmark.api import removal_curve_masks, target_probability

    generator = torch.Generator().manual_seed(o.seed)
    shares = [100.0 * k / o.steps for k in range(o.steps + 1)]
    masks = removal_curve_masks(maps, shares, True, generator)  # (S + 1, N, H, W): the top share of pixels
    start = _blurred(inputs, o.blur_sigma) if insertion else torch.zeros_like(inputs)
    n = len(inputs)
    before = target_probability(model, inputs, targets, o.batch_size)
    probabilities = []
    for mask in masks:
        m = mask[:, None].to(inputs.dtype)
        perturbed = inputs * m + start * (1 - m) if insertion else start * m + inputs * (1 - m)
        probabilities.append(target_probability(model, perturbed, targets, o.batch_size))
    curve = torch.stack(probabilities, dim=1).double().cpu().numpy()  # (N, S + 1)
    area = np.trapezoid(curve, dx=1.0 / o.steps, axis=1)
    drops = before.double().cpu().numpy()[:, None] - curve
    return FaithfulnessScores(before.double().cpu().numpy() - area, shares, drops.reshape(n, -1))


def deletion(model: Any, inputs: Any, maps: Any, targets: Any, **options: Any) -> FaithfulnessScores:
    return _curve(model, inputs, maps, targets, CurveOptions.model_validate(options), insertion=False)


def insertion(model: Any, inputs: Any, maps: Any, targets: Any, **options: Any) -> FaithfulnessScores:
    return _curve(model, inputs, maps, targets, CurveOptions.model_validate(options), insertion=True)


# the registry reads this attribute off the function (hookspecs); mypy types no attribute on a function
insertion.higher_is_better = False  # type: ignore[attr-defined]
