"""Shen et al. 2019's whole-image classifier, built on a trained patch network.

The patch network's convolutional part (``Backbone.features``, with the patch run's
weights) reads the whole mammogram; two new convolutional blocks (3x3 convolution,
batch norm, ReLU) and global average pooling feed a 2-class layer (benign, malignant).
All of it is trained end to end on whole images by the core training loop, with the
patch run's strategy: the feature groups keep the patch network's layer groups (so
freezing and gradual unfreezing mean what they meant for patches) and the new top is
the head.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from benchmark.api import Backbone, LayerGroup, UserError, WholeImageContext, WholeImageOutput


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class ShenModel(nn.Module):
    """features -> conv block -> conv block -> global average pool -> linear (2 classes)."""

    def __init__(self, features: nn.Module, channels: int, top_channels: int) -> None:
        super().__init__()
        self.features = features
        self.top = nn.Sequential(_block(channels, top_channels), _block(top_channels, top_channels))
        self.head = nn.Linear(top_channels, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.top(self.features(x)).mean(dim=(2, 3)))


@torch.no_grad()
def feature_channels(features: nn.Module, window: int = 64) -> int:
    """Channels of the feature map (read from a forward pass: plugins need not say)."""
    was = features.training
    features.eval()
    out = features(torch.zeros(1, 3, window, window, device=next(features.parameters()).device))
    features.train(was)
    return int(out.shape[1])


def _feature_groups(patch: Backbone, features: nn.Module) -> list[LayerGroup]:
    """The patch network's groups restricted to modules of its convolutional part."""
    owned = {id(p) for p in features.parameters()}
    groups = []
    for group in patch.groups:
        modules = [
            m
            for m in group.modules
            if any(True for _ in m.parameters()) and all(id(p) in owned for p in m.parameters())
        ]
        if modules:
            groups.append(LayerGroup(group.name, modules))
    return groups


def shen_backbone(patch: Backbone, top_channels: int) -> Backbone:
    """The whole-image model on ``patch``'s (already trained) convolutional part, as a
    :class:`Backbone` the core's strategies and training loop accept."""
    if patch.features is None:
        raise UserError(
            f"whole_image.models: shen needs the backbone's convolutional part (Backbone.features); "
            f"{patch.info.get('timm_model', 'this backbone')} does not provide it"
        )
    channels = feature_channels(patch.features)
    model = ShenModel(patch.features, channels, top_channels).to(next(patch.features.parameters()).device)
    groups = _feature_groups(patch, patch.features) + [LayerGroup("top", [model.top, model.head])]
    return Backbone(
        model=model,
        groups=groups,
        target_layer=model.top[-1],
        pretrained=f"patch run ({patch.pretrained})",
        info={"head": "2 conv blocks, global average pooling, linear"},
    )


def gradcam(model: ShenModel, x: torch.Tensor) -> torch.Tensor:
    """Grad-CAM of the malignant logit at the last new block, upsampled to the input and
    scaled to [0, 1] per image: the Shen model's localisation map."""
    acts: list[torch.Tensor] = []
    handle = model.top.register_forward_hook(lambda _m, _i, out: acts.append(out))
    try:
        model.eval()
        with torch.enable_grad():
            logits = model(x)
            grads = torch.autograd.grad(logits[:, 1].sum(), acts[0])[0]
    finally:
        handle.remove()
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * acts[0]).sum(1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    top = cam.flatten(1).max(1).values.clamp(min=1e-12).view(-1, 1, 1)
    return (cam / top).detach()


def network(patch: Backbone, settings: Any = None) -> Backbone:
    """The network :func:`shen_model` trains (``bench train --whole`` times it)."""
    return shen_backbone(patch, getattr(settings, "top_channels", 256))


def shen_model(context: WholeImageContext, **_: Any) -> WholeImageOutput:
    """The registered model: built on the patch run's trained convolutional part, trained
    by the core (``context.train``), then scored on the test images with its Grad-CAM."""
    model = network(context.backbone, context.settings)
    record = context.train(model)
    test = context.split("test")
    batch = context.settings.batch_size
    scores, maps = [], []
    model.model.eval()
    shen = model.model
    assert isinstance(shen, ShenModel)  # what network() builds
    for start in range(0, len(test), batch):
        images = torch.from_numpy(context.images[test[start : start + batch]]).unsqueeze(1).to(context.device)
        x = context.to_input(images)
        with torch.no_grad(), context.autocast():
            scores.append(torch.softmax(model.model(x).float(), 1)[:, 1].cpu().numpy())
        maps.append(gradcam(shen, x).float().cpu().numpy())
    return WholeImageOutput(
        np.concatenate(scores),
        np.concatenate(maps),
        {**record, "map": "Grad-CAM of the malignant logit at the new top"},
    )


# bench train --whole builds the network off the registered function; mypy types no attribute on a function
shen_model.network = network  # type: ignore[attr-defined]
