"""Grad-CAM batched on the model's device: pytorch-grad-cam's GradCAM maths, without its
round trips to the CPU.

One forward pass with a hook on the target layer, one ``torch.autograd.grad`` of the
summed target logits with respect to that layer's output, channel-mean weights, ReLU,
bilinear upsampling to the input size and per-image min-max scaling, all in fp32 on the
device the model lives on. pytorch-grad-cam instead copies activations and gradients to
the CPU, back-propagates into every parameter and resizes each map with OpenCV.

Two things make it cheap and robust: the layers before the target layer run without
autograd (nothing there needs a gradient), and the gradient is taken with respect to the
target layer's output alone, so frozen parameters need no special treatment and no
weight gradient is ever computed. The activations are the layer's output as it left the
layer: an in-place op downstream (``ReLU(inplace=True)``) cannot change them, whereas
pytorch-grad-cam's CPU copy of them is an alias that such an op rewrites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.api import Backbone

if TYPE_CHECKING:
    import torch


class BatchedGradCam:
    """Grad-CAM of one explicit target class per image, batched on the device."""

    def __init__(self, backbone: Backbone) -> None:
        self.model = backbone.model
        self.layer = backbone.target_layer

    def maps(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Maps (N, H, W) in [0, 1], fp32, on the images' device."""
        import torch
        import torch.nn.functional as F

        captured: dict[str, Any] = {}

        def hook(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
            torch.set_grad_enabled(True)  # from here on the graph is recorded
            leaf = output.detach().float().requires_grad_(True)
            captured["activations"] = leaf
            return leaf.clone()  # downstream in-place ops must not touch the leaf

        images = images.float()
        targets = torch.as_tensor(targets, device=images.device).long().reshape(-1, 1)
        if targets.shape[0] != images.shape[0]:
            raise ValueError(f"one target per image expected: {targets.shape[0]} targets for {images.shape[0]} images")
        handle = self.layer.register_forward_hook(hook)
        try:
            with torch.no_grad():  # restores the caller's grad mode on exit
                logits = self.model(images)
                with torch.enable_grad():
                    activations = captured["activations"]
                    score = logits.float().gather(1, targets).sum()
                    (grads,) = torch.autograd.grad(score, activations)
        finally:
            handle.remove()
        if activations.dim() != 4:
            raise ValueError(f"Grad-CAM needs a target layer with (N, C, H, W) output; got {tuple(activations.shape)}")
        with torch.no_grad():
            weights = grads.mean(dim=(2, 3), keepdim=True)
            cam = (weights * activations.detach()).sum(dim=1, keepdim=True).clamp_min_(0)
            cam = F.interpolate(cam, size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
            lo = cam.amin(dim=(1, 2), keepdim=True)
            hi = cam.amax(dim=(1, 2), keepdim=True)
            return (cam - lo) / (hi - lo + 1e-7)

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        return self.maps(images, targets).cpu().numpy()
