"""Smooth random maps: the chance level every localisation score is compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.api import Backbone

if TYPE_CHECKING:
    import torch


class RandomMapsOptions(BaseModel):
    """``{name: random, options: {cells: 8, seed: 1}}``: finer blobs, another draw."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0)
    cells: int = Field(4, ge=2, le=64, description="grid side of the random values: larger, finer blobs")


class RandomMaps:
    """Random values on a ``cells`` x ``cells`` grid, bilinearly upsampled and min-max
    scaled: blobs of saliency placed without looking at the image. Seeded, so a run's
    baseline is reproducible."""

    def __init__(self, backbone: Backbone | None = None, seed: int = 0, cells: int = 4) -> None:
        self.rng = np.random.default_rng(seed)
        self.cells = cells

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        from benchmark.api import smooth_random_maps

        n, _, h, w = images.shape
        coarse = self.rng.random((n, 1, self.cells, self.cells), dtype=np.float32)
        return smooth_random_maps(coarse, (h, w)).numpy()
