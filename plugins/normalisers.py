"""Intensity normalisers: fixed ImageNet statistics, the training set's own, and the
study's per-class normalisation (which needs each patch's label, also at test time: the
report marks every result that used it as label-leaking)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch

from benchmark.api import hookimpl

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _as(device_like: torch.Tensor, values: Any) -> torch.Tensor:
    import torch

    return torch.as_tensor(values, dtype=device_like.dtype, device=device_like.device)


class ImageNetNormaliser:
    """ImageNet mean and standard deviation per channel (what the pretrained weights saw)."""

    uses_labels: ClassVar[bool] = False

    def fit(self, chunks: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None:
        return None

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        mean = _as(images, IMAGENET_MEAN).view(1, 3, 1, 1)
        std = _as(images, IMAGENET_STD).view(1, 3, 1, 1)
        return (images - mean) / std

    def state_dict(self) -> dict[str, Any]:
        return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}


def _moments(
    chunks: Iterable[tuple[torch.Tensor, torch.Tensor]], classes: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (per class when ``classes`` is given), accumulated in float64."""
    import torch

    groups = classes or 1
    sums: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # pixel count, sum, sum of squares
    for images, labels in chunks:
        x = images.double()
        key = labels if classes else torch.zeros_like(labels)
        one_hot = torch.nn.functional.one_hot(key, groups).double()  # (B, G)
        pixels = x.shape[2] * x.shape[3]
        c1 = one_hot.T @ x.sum(dim=(2, 3))  # (G, 3)
        c2 = one_hot.T @ (x * x).sum(dim=(2, 3))
        n = one_hot.sum(0) * pixels  # (G,)
        sums = (n, c1, c2) if sums is None else (sums[0] + n, sums[1] + c1, sums[2] + c2)
    if sums is None:
        raise ValueError("cannot fit a normaliser on an empty split")
    total, s1, s2 = sums
    count = total.clamp(min=1).unsqueeze(1)
    mean = s1 / count
    std = (s2 / count - mean * mean).clamp(min=1e-12).sqrt()
    return mean.float(), std.float()


class DatasetNormaliser:
    """Mean and standard deviation of the training split, per channel."""

    uses_labels: ClassVar[bool] = False

    def fit(self, chunks: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None:
        mean, std = _moments(chunks, None)
        self.mean, self.std = mean[0], std[0]

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return (images - self.mean.to(images).view(1, 3, 1, 1)) / self.std.to(images).view(1, 3, 1, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


class PerClassNormaliser:
    """The study's choice: each class normalised by its own training statistics. Needs the
    label at transform time, also on the test set: a label leak the report flags."""

    uses_labels: ClassVar[bool] = True
    classes: int = 5

    def fit(self, chunks: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.mean, self.std = _moments(chunks, self.classes)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("per-class normalisation needs the labels")
        mean = self.mean.to(images)[labels].view(-1, 3, 1, 1)
        std = self.std.to(images)[labels].view(-1, 3, 1, 1)
        return (images - mean) / std

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}


@hookimpl
def register_normalisers(register):
    register("imagenet", ImageNetNormaliser)
    register("dataset", DatasetNormaliser)
    register("per-class", PerClassNormaliser)
