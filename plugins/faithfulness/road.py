"""ROAD: RemOve And Debias (Rong et al. 2022, "A Consistent and Efficient Evaluation
Strategy for Attribution Methods"), as pytorch-grad-cam's ``metrics/road.py`` computes it
(the tests compare the two), batched on the model's device.

For each percentage p (10 ... 90 by default) the p % most relevant (MoRF) or least
relevant (LeRF) pixels of the map are removed by noisy linear imputation, and the drop
in the target class's probability is recorded. ``road-morf`` is the mean drop over p
(large when the map finds what the model uses), ``road-lerf`` the same removing the
least relevant pixels (small when the rest does not matter), ``road-combined`` (MoRF -
LeRF) / 2. The MoRF and LeRF curves of one batch are computed once and shared by the
three metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from benchmark.api import FaithfulnessScores

if TYPE_CHECKING:
    import torch

#: ROAD's percentages of pixels removed
PERCENTILES = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]


class RoadOptions(BaseModel):
    """``{name: road-morf, options: {percentiles: [20, 50, 80], noise: 0.01, seed: 0}}``."""

    model_config = ConfigDict(extra="forbid")

    percentiles: list[float] = Field(
        default_factory=lambda: list(PERCENTILES),
        min_length=1,
        description="percentages of the pixels removed, each strictly between 0 and 100",
    )
    noise: float = Field(0.01, ge=0.0, le=1.0, description="standard deviation of the imputation noise")
    seed: int = Field(0, ge=0, description="seed of the noise and of the order of tied pixels")
    batch_size: int = Field(128, ge=1, le=65536, description="perturbed images per forward pass")

    @field_validator("percentiles")
    @classmethod
    def _inside(cls, value: list[float]) -> list[float]:
        bad = [p for p in value if not 0.0 < p < 100.0]
        if bad:
            raise ValueError(f"percentiles must lie strictly between 0 and 100, got {bad}")
        return value


#: the last batch's MoRF and LeRF curves, each with the exact tensors and settings it came
#: from (the three metrics are called one after another on the same batch)
_last: dict[bool, tuple[Any, ...]] = {}


def road_curve(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
    percentiles: list[float],
    most_relevant: bool,
    noise: float,
    seed: int,
    batch_size: int,
) -> np.ndarray:
    """(N, len(percentiles)): the drop in the target probability after removing each
    percentage of pixels, most (or least) relevant first."""
    import torch

    from benchmark.api import noisy_linear_imputation, removal_curve_masks, target_probability

    key = (id(model), tuple(percentiles), noise, seed, batch_size)
    held = _last.get(most_relevant)
    if held is not None and held[0] == key and held[1] is inputs and held[2] is maps and held[3] is targets:
        return held[4]
    generator = torch.Generator().manual_seed(seed)
    before = target_probability(model, inputs, targets, batch_size)
    masks = removal_curve_masks(maps, percentiles, most_relevant, generator)  # (P, N, H, W)
    n = len(inputs)
    per_step = max(1, batch_size // max(n, 1))
    drops = []
    for start in range(0, len(percentiles), per_step):
        chunk = masks[start : start + per_step]
        k = len(chunk)
        images = inputs.repeat(k, 1, 1, 1)
        removed = chunk.reshape(k * n, *chunk.shape[2:])
        imputed = noisy_linear_imputation(images, removed, noise, generator)
        after = target_probability(model, imputed, targets.repeat(k), batch_size)
        drops.append((before.repeat(k) - after).reshape(k, n))
    curve = torch.cat(drops).T.cpu().double().numpy()
    _last[most_relevant] = (key, inputs, maps, targets, curve)
    return curve


def _options(options: dict[str, Any]) -> RoadOptions:
    return RoadOptions.model_validate(options)


def road_morf(model: Any, inputs: Any, maps: Any, targets: Any, **options: Any) -> FaithfulnessScores:
    o = _options(options)
    curve = road_curve(model, inputs, maps, targets, o.percentiles, True, o.noise, o.seed, o.batch_size)
    return FaithfulnessScores(curve.mean(axis=1), o.percentiles, curve)


def road_lerf(model: Any, inputs: Any, maps: Any, targets: Any, **options: Any) -> FaithfulnessScores:
    o = _options(options)
    curve = road_curve(model, inputs, maps, targets, o.percentiles, False, o.noise, o.seed, o.batch_size)
    return FaithfulnessScores(curve.mean(axis=1), o.percentiles, curve)


def road_combined(model: Any, inputs: Any, maps: Any, targets: Any, **options: Any) -> FaithfulnessScores:
    o = _options(options)
    morf = road_curve(model, inputs, maps, targets, o.percentiles, True, o.noise, o.seed, o.batch_size)
    lerf = road_curve(model, inputs, maps, targets, o.percentiles, False, o.noise, o.seed, o.batch_size)
    curve = (morf - lerf) / 2.0
    return FaithfulnessScores(curve.mean(axis=1), o.percentiles, curve)


# the registry reads this attribute off the function (hookspecs); mypy types no attribute on a function
road_lerf.higher_is_better = False  # type: ignore[attr-defined]
