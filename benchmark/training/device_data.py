"""A whole split resident on the training device, as uint8, turned into network input
one batch at a time on that device (cast, scale, grey to RGB, normalise).

Keeping uint8 patches on the device costs a third of float RGB memory and means an epoch
never waits on decoding or host-to-device copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.plugin_types import Normaliser


@dataclass
class DeviceSplit:
    images: torch.Tensor  # uint8 (N, 1, S, S) on the device
    labels: torch.Tensor  # int64 (N,) on the device

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray, device: torch.device) -> DeviceSplit:
        x = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).to(device)
        y = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        return cls(x, y)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batches(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
        """Index batches; shuffled with ``generator`` when given (drawn on the CPU, so the
        order is the same on every device)."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        order = order.to(self.labels.device)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]


def as_rgb(images: torch.Tensor) -> torch.Tensor:
    """uint8 grey (B, 1, S, S) -> float RGB in [0, 1] (B, 3, S, S), the channel repeated."""
    return images.float().div_(255.0).expand(-1, 3, -1, -1)


def to_input(
    images: torch.Tensor, labels: torch.Tensor | None, normaliser: Normaliser, channels_last: bool = False
) -> torch.Tensor:
    """uint8 (B, 1, S, S) -> normalised float (B, 3, S, S) on the same device."""
    x = normaliser(as_rgb(images), labels if normaliser.uses_labels else None)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def fit_chunks(split: DeviceSplit, chunk: int = 512) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The split as float RGB in [0, 1], chunk by chunk, with labels: what normalisers fit on."""
    for start in range(0, len(split), chunk):
        yield as_rgb(split.images[start : start + chunk]), split.labels[start : start + chunk]
