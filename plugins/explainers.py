"""Saliency explainers: pytorch-grad-cam's Grad-CAM, and a random-map baseline.

Every explainer is called with normalised images on the model's device and one target
class per image, and returns maps in [0, 1] at input resolution. The core has already
put the model in eval mode with gradients enabled on every layer (frozen ones too) and
runs explainers in fp32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

from benchmark.hookspecs import hookimpl
from benchmark.plugin_types import Backbone


class PytorchGradCam:
    """A pytorch-grad-cam method on the backbone's target layer."""

    def __init__(self, backbone: Backbone, method: str = "GradCAM") -> None:
        import pytorch_grad_cam

        self.backbone = backbone
        self.method = getattr(pytorch_grad_cam, method)

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with self.method(model=self.backbone.model, target_layers=[self.backbone.target_layer]) as cam:
            maps = cam(input_tensor=images, targets=[ClassifierOutputTarget(int(t)) for t in targets.tolist()])
        return np.asarray(maps, dtype=np.float32)


class RandomMaps:
    """Smooth random maps: the chance level any localisation score is compared with."""

    def __init__(self, backbone: Backbone, seed: int = 0, cells: int = 4) -> None:
        self.rng = np.random.default_rng(seed)
        self.cells = cells

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        import torch

        n, _, h, w = images.shape
        coarse = torch.from_numpy(self.rng.random((n, 1, self.cells, self.cells), dtype=np.float32))
        maps = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[:, 0]
        lo = maps.amin(dim=(1, 2), keepdim=True)
        hi = maps.amax(dim=(1, 2), keepdim=True)
        return ((maps - lo) / (hi - lo + 1e-7)).numpy()


def _gradcam(method: str):
    def build(backbone: Backbone, **options: Any) -> PytorchGradCam:
        return PytorchGradCam(backbone, method, **options)

    build.__doc__ = f"pytorch-grad-cam {method} on the backbone's target layer"
    return build


@hookimpl
def register_explainers(register):
    register("gradcam", _gradcam("GradCAM"))
    register("random", RandomMaps, description="smooth random maps (baseline)")
