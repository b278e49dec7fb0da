"""pytorch-grad-cam's CAM methods on the backbone's target layer: the reference explainers.

One explicit target per image (the core passes the predicted class), never the library's
"argmax if None" default. The CAM object is released in a ``finally`` rather than used as
a context manager: its ``__exit__`` swallows ``IndexError`` (a target out of range would
come back as no maps at all).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.api import Backbone

if TYPE_CHECKING:
    import torch


class PytorchGradCam:
    """A pytorch-grad-cam method (``GradCAM``, ``GradCAMPlusPlus``, ...) on the target layer."""

    def __init__(self, backbone: Backbone, method: str = "GradCAM", batch_size: int | None = None) -> None:
        import pytorch_grad_cam

        self.backbone = backbone
        self.method = getattr(pytorch_grad_cam, method)
        self.batch_size = batch_size

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        cam = self.method(model=self.backbone.model, target_layers=[self.backbone.target_layer])
        if self.batch_size is not None:  # ScoreCAM: masked images per forward pass
            cam.batch_size = self.batch_size
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # ScoreCAM draws tqdm bars
                maps = cam(
                    input_tensor=images.float(), targets=[ClassifierOutputTarget(int(t)) for t in targets.tolist()]
                )
        finally:
            cam.activations_and_grads.release()
        return np.asarray(maps, dtype=np.float32)


def cam_method(method: str, note: str = "", **defaults: Any) -> Callable[..., PytorchGradCam]:
    """A factory ``(backbone, **options) -> PytorchGradCam`` for one pytorch-grad-cam method."""

    def build(backbone: Backbone, **options: Any) -> PytorchGradCam:
        return PytorchGradCam(backbone, method, **(defaults | options))

    build.__doc__ = f"pytorch-grad-cam {method} on the backbone's target layer{note}"
    build.__name__ = f"build_{method}"
    return build
