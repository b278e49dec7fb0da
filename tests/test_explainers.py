"""Explainers: the batched Grad-CAM matches pytorch-grad-cam's GradCAM on the same model
and inputs; every registered CAM method gives one map per image in [0, 1]; targets are
explicit and explainers' output is checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmark.evaluation.localisation import explain, explaining
from benchmark.plugin_types import Backbone, LayerGroup
from benchmark.registry.loading import registries
from benchmark.training.device_data import DeviceSplit
from plugins.backbones.timm_models import timm_backbone
from plugins.explainers.batched_gradcam import BatchedGradCam
from plugins.explainers.cam_methods import PytorchGradCam
from plugins.normalisers import ImageNetNormaliser


@pytest.fixture(scope="module")
def resnet() -> Backbone:
    torch.manual_seed(0)
    return timm_backbone("test_resnet", num_classes=5)


def _inputs(model: nn.Module, n: int = 8, size: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return images, model.eval()(images).argmax(dim=1)  # the predicted class, as LL uses


def test_batched_gradcam_matches_pytorch_grad_cam(resnet: Backbone) -> None:
    images, targets = _inputs(resnet.model)
    with explaining(resnet.model):
        reference = PytorchGradCam(resnet, "GradCAM")(images, targets)
    batched = BatchedGradCam(resnet)(images, targets)
    assert batched.shape == reference.shape == (8, 96, 96) and batched.dtype == np.float32
    assert (reference.reshape(8, -1).max(axis=1) > 0.99).sum() >= 6  # real maps, not zeros on both sides
    assert np.abs(batched - reference).max() < 1e-3


def test_batched_gradcam_needs_no_gradients_on_frozen_layers_and_survives_inplace_ops() -> None:
    torch.manual_seed(0)
    stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    target = nn.Conv2d(8, 16, 3, padding=1)
    head = nn.Sequential(nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    model = nn.Sequential(stem, target, head)
    backbone = Backbone(
        model,
        [LayerGroup("stem", [stem]), LayerGroup("block", [target]), LayerGroup("head", [head])],
        target_layer=target,
    )
    images, targets = _inputs(model, n=4, size=32)
    for p in model.parameters():
        p.requires_grad_(False)  # all frozen, and no explaining() guard around the batched call
    batched = BatchedGradCam(backbone)(images, targets)
    # pytorch-grad-cam's CPU activations alias the layer's output, which the in-place ReLU
    # then rectifies: its reference is computed with that ReLU made out-of-place.
    head[0].inplace = False
    with explaining(model):
        reference = PytorchGradCam(backbone, "GradCAM")(images, targets)
    assert not any(p.requires_grad for p in model.parameters())  # the guard restored the flags
    assert np.abs(batched - reference).max() < 1e-3 and batched.max() > 0.99


def test_targets_are_explicit_one_per_image(resnet: Backbone) -> None:
    images, targets = _inputs(resnet.model, n=4)
    with pytest.raises(ValueError, match="one target per image"):
        BatchedGradCam(resnet)(images, targets[:3])
    other = BatchedGradCam(resnet)(images, (targets + 1) % 5)
    assert np.abs(other - BatchedGradCam(resnet)(images, targets)).max() > 0.1  # the target matters


@pytest.mark.parametrize(
    "name",
    ["gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "scorecam", "gradcam-batched", "random"],
)
def test_every_registered_explainer_gives_one_map_per_image_in_unit_range(resnet: Backbone, name: str) -> None:
    images, targets = _inputs(resnet.model, n=2, size=64)
    explainer = registries().get("explainer", name).obj(resnet)
    with explaining(resnet.model):
        maps = np.asarray(explainer(images, targets))
    assert maps.shape == (2, 64, 64) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6


class _Broken:
    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
        return np.ones((len(images), 4, 4), np.float32)


def test_core_checks_targets_and_explainer_output() -> None:
    split = DeviceSplit.from_arrays(np.zeros((3, 8, 8), np.uint8), np.array([1, 2, 3]), torch.device("cpu"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(192, 5))
    with pytest.raises(ValueError, match="one target per image"):
        explain(model, _Broken(), split, np.array([0, 1]), np.array([1]), ImageNetNormaliser(), 2)
    with pytest.raises(ValueError, match="_Broken returned maps of shape"):
        explain(model, _Broken(), split, np.array([0, 1]), np.array([1, 2]), ImageNetNormaliser(), 2)


CAPTUM = ("integrated-gradients", "smoothgrad", "occlusion", "guided-backprop")


@pytest.mark.parametrize("name", CAPTUM)
def test_captum_methods_give_one_map_per_image_for_its_target(resnet: Backbone, name: str) -> None:
    from benchmark.registry.calls import make_explainer

    images, targets = _inputs(resnet.model, n=3, size=48)
    options = {"steps": 8} if name == "integrated-gradients" else {"samples": 4} if name == "smoothgrad" else {}
    from benchmark.spec.schema import PluginRef

    explainer, _ = make_explainer(registries(), PluginRef(name=name, options=options), resnet)
    inplace = [m.inplace for m in resnet.model.modules() if isinstance(m, nn.ReLU)]
    with explaining(resnet.model):
        maps = explainer(images, targets)
        other = explainer(images, (targets + 1) % 5)
    assert maps.shape == (3, 48, 48) and maps.dtype == np.float32
    assert np.isclose(maps.reshape(3, -1).max(axis=1), 1.0).all() and maps.min() >= 0.0
    assert not np.allclose(maps, other)  # the target class matters
    assert [m.inplace for m in resnet.model.modules() if isinstance(m, nn.ReLU)] == inplace  # restored after
    assert any(inplace)  # timm's ReLUs are in place: the restoring was exercised
