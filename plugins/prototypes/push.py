"""Prototype projection ("push", Chen et al. 2019): each prototype is replaced by the
nearest feature-map cell of a training patch of its own class, so every prototype is a
real training patch part. The source patch (its position in the training split) and the
box of its most similar region are recorded in the model's buffers for the gallery.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmark.api import PhaseContext
from plugins.prototypes.network import ProtoPNet, similarity

#: the source box covers the upsampled similarity map's cells at or above this percentile
BOX_PERCENTILE = 95.0


def prototype_network(model: nn.Module) -> ProtoPNet:
    if not isinstance(model, ProtoPNet):
        raise TypeError(f"expected a prototype network (protopnet/<backbone>), got {type(model).__name__}")
    return model


def box_of(similarity_map: torch.Tensor, size: tuple[int, int]) -> list[int]:
    """(y0, x0, y1, x1) around the upsampled map's top 5% (ProtoPNet's source box)."""
    up = nn.functional.interpolate(similarity_map[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    values = up.cpu().numpy()
    ys, xs = np.nonzero(values >= np.percentile(values, BOX_PERCENTILE))
    return [int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1]


@torch.no_grad()
def push(context: PhaseContext) -> None:
    """Project every prototype onto its nearest training feature of its own class."""
    model = prototype_network(context.model)
    model.eval()
    classes = model.prototype_classes
    count = len(classes)
    best = torch.full((count,), float("inf"), device=classes.device)
    vectors = model.prototypes.vectors.detach().clone()
    source = torch.full((count,), -1, dtype=torch.long, device=classes.device)
    maps: list[torch.Tensor | None] = [None] * count
    size: tuple[int, int] = (0, 0)
    offset = 0
    for images, labels in context.batches():
        size = (images.shape[-2], images.shape[-1])
        z = model.latent(images).float()  # (B, D, H, W)
        d = model.prototypes(z)  # (B, P, H, W)
        b, _, h, w = d.shape
        own = labels[:, None] == classes[None, :]  # (B, P): this patch may serve this prototype
        flat = d.flatten(2).masked_fill(~own[:, :, None], float("inf"))  # (B, P, H*W)
        per_image, cell = flat.min(dim=2)  # (B, P)
        nearest, image = per_image.min(dim=0)  # (P,)
        for j in torch.nonzero(nearest < best).flatten().tolist():
            i, c = int(image[j]), int(cell[image[j], j])
            best[j] = nearest[j]
            vectors[j] = z[i, :, c // w, c % w].reshape(-1, 1, 1)
            source[j] = offset + i
            maps[j] = similarity(d[i, j]).detach()
        offset += b
    missing = (source < 0).nonzero().flatten().tolist()
    if missing:
        raise ValueError(f"no training patch of the class of prototype(s) {missing}: nothing to project onto")
    model.prototypes.vectors.copy_(vectors)
    model.source_index.copy_(source)
    model.source_box.copy_(torch.tensor([box_of(m, size) for m in maps if m is not None], dtype=torch.long))
