"""The prototype network (ProtoPNet, Chen et al. 2019): a model that decides by comparing
parts of the image with learned prototypes, so its explanation is its computation.

image -> backbone features -> add-on 1x1 convolutions (ReLU, Sigmoid) -> squared L2
distance of every feature-map cell to each of P = k x C prototypes (shape (D, 1, 1)) ->
similarity log((d + 1) / (d + eps)), max-pooled over the map -> a last linear layer
initialised to the class-identity pattern (+1 to its own class, -0.5 to the others).
Each prototype belongs to one class (``identity``); after the push each one is a
training patch's feature, whose source is kept in buffers (so checkpoints carry it).
"""

from __future__ import annotations

import torch
from torch import nn

#: keeps log((d + 1) / (d + eps)) finite when a cell equals a prototype
EPSILON = 1e-4
#: the class-identity pattern's weight for the other classes' prototypes
WRONG_CLASS_WEIGHT = -0.5


def similarity(distances: torch.Tensor) -> torch.Tensor:
    """ProtoPNet's log-similarity: large when the distance is small."""
    return torch.log((distances + 1) / (distances + EPSILON))


class PrototypeLayer(nn.Module):
    """P prototypes of shape (D, 1, 1) and the squared L2 distance of each feature cell to them."""

    def __init__(self, count: int, dim: int) -> None:
        super().__init__()
        self.vectors = nn.Parameter(torch.rand(count, dim, 1, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D, H, W) -> (B, P, H, W) squared distances, never negative; in fp32 even under
        autocast (the expansion ||z||^2 - 2 z.p + ||p||^2 cancels badly in bf16)."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            z2 = (z**2).sum(dim=1, keepdim=True)
            p2 = (self.vectors**2).sum(dim=(1, 2, 3)).view(1, -1, 1, 1)
            zp = nn.functional.conv2d(z, self.vectors)
            return torch.relu(z2 - 2 * zp + p2)


class ProtoPNet(nn.Module):
    """Backbone features, add-on layers, prototypes and the last layer.

    ``inner`` is the wrapped backbone's whole model (its head removed); ``features`` a view
    of it that returns the final feature map. ``min_distances`` holds the last forward's
    (B, P) minimum distances, which the cluster and separation losses read.
    """

    features: nn.Module  # kept in __dict__ (see __init__)
    identity: torch.Tensor  # the buffers registered in __init__
    source_index: torch.Tensor
    source_box: torch.Tensor

    def __init__(
        self, inner: nn.Module, features: nn.Module, channels: int, num_classes: int, per_class: int, dim: int
    ) -> None:
        super().__init__()
        self.inner = inner
        self.__dict__["features"] = features  # shares inner's parameters: not registered twice
        self.add_on = nn.Sequential(nn.Conv2d(channels, dim, 1), nn.ReLU(), nn.Conv2d(dim, dim, 1), nn.Sigmoid())
        count = per_class * num_classes
        self.prototypes = PrototypeLayer(count, dim)
        self.last_layer = nn.Linear(count, num_classes, bias=False)
        identity = torch.zeros(count, num_classes)
        identity[torch.arange(count), torch.arange(count) // per_class] = 1
        self.register_buffer("identity", identity)
        # where each prototype came from (set by the push): training-split position, -1 before
        self.register_buffer("source_index", torch.full((count,), -1, dtype=torch.long))
        self.register_buffer("source_box", torch.zeros(count, 4, dtype=torch.long))  # y0, x0, y1, x1 (pixels)
        self.min_distances: torch.Tensor | None = None
        self.set_last_layer_identity()

    def __getstate__(self) -> dict:
        """Copies (the sanity check's deepcopy) leave out the last forward's graph."""
        state = self.__dict__.copy()
        state["min_distances"] = None
        return state

    @property
    def prototype_classes(self) -> torch.Tensor:
        return self.identity.argmax(dim=1)

    def set_last_layer_identity(self) -> None:
        """+1 from each prototype to its own class, -0.5 to every other (Chen et al.)."""
        with torch.no_grad():
            t = self.identity.t()
            self.last_layer.weight.copy_(t + WRONG_CLASS_WEIGHT * (1 - t))

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> the add-on output (B, D, H, W) that prototypes live in."""
        return self.add_on(self.features(x))

    def distance_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.prototypes(self.latent(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distances = self.distance_maps(x).float()
        self.min_distances = distances.flatten(2).amin(dim=2)
        return self.last_layer(similarity(self.min_distances))


@torch.no_grad()
def feature_channels(features: nn.Module, size: int = 64) -> int:
    """Channels of the final feature map, found by one small forward pass."""
    was_training = features.training
    features.eval()
    try:
        device = next(features.parameters()).device
        return int(features(torch.zeros(1, 3, size, size, device=device)).shape[1])
    finally:
        features.train(was_training)
