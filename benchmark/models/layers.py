"""Small layers that backbone plugins share."""

from __future__ import annotations

import torch
from torch import nn


class GlobalMeanPool(nn.Module):
    """``AdaptiveAvgPool2d(1)`` as a mean: the same result, and its CUDA backward is
    deterministic (adaptive pooling's is not, and raises under deterministic algorithms).
    ``flatten`` returns (N, C) instead of (N, C, 1, 1)."""

    def __init__(self, flatten: bool = False) -> None:
        super().__init__()
        self.flatten = flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-2, -1), keepdim=not self.flatten)

    def extra_repr(self) -> str:
        return f"flatten={self.flatten}"


class PatchClassifier(nn.Module):
    """A pretrained network's convolutional part (``features``: image -> feature map)
    followed by the study's head: the feature map averaged over its positions, then one
    new fully connected layer. Averaging (rather than flattening) keeps the head at
    ``channels x classes`` weights and the network independent of the input size, so
    the same classifier runs on patches of any size and, fully convolutionally, on whole
    mammograms."""

    def __init__(self, features: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = features
        self.head = nn.Sequential(GlobalMeanPool(flatten=True), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ForwardFeatures(nn.Module):
    """A view of a timm model that stops at its final feature map (``forward_features``).
    It shares the model's parameters; it is not a copy."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch types nn.Module's dynamic attributes as Tensor | Module; timm models define this method
        return self.model.forward_features(x)  # type: ignore[operator]
