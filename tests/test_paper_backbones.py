"""The study's four backbones as the study built them: one new linear layer as the head,
Grad-CAM on the final convolution layer's output, the first half frozen as documented
(docs/transfer-learning.md)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmark.models.grouping import weight_layers
from benchmark.registry.loading import registries
from benchmark.training.freezing import frozen_groups

#: backbone -> (frozen groups, frozen weight layers, all feature weight layers, target's side at 224 px)
DOCUMENTED = {
    "vgg16": (["block1", "block2", "block3"], 7, 13, 14),
    "vgg19": (["block1", "block2", "block3"], 8, 16, 14),
    "resnet34": (["stem", "stage1", "stage2"], 16, 36, 7),
    "resnet50": (["stem", "stage1", "stage2"], 24, 53, 7),
}


@pytest.fixture(scope="module", params=list(DOCUMENTED))
def built(request: pytest.FixtureRequest):
    return request.param, registries().get("backbone", request.param).obj(num_classes=5, pretrained=False)


def test_the_head_is_one_new_linear_layer_on_the_pooled_features(built) -> None:
    name, backbone = built
    head = backbone.groups[-1]
    linears = [m for m in backbone.model.modules() if isinstance(m, nn.Linear)]
    assert head.name == "head" and len(linears) == 1, f"{name}: fully connected block not removed"
    (fc,) = linears
    assert fc.out_features == 5 and fc in list(head.modules[0].modules())
    assert sum(p.numel() for p in head.parameters()) == fc.in_features * 5 + 5
    assert fc.in_features == (512 if name in ("vgg16", "vgg19", "resnet34") else 2048)


def test_gradcam_explains_the_final_convolution_layer(built) -> None:
    name, backbone = built
    model = backbone.model.eval()
    shapes: dict[str, torch.Size] = {}
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]

    def record(key: str):
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            shapes[key] = output.shape

        return hook

    hooks = [
        backbone.target_layer.register_forward_hook(record("target")),
        convs[-1].register_forward_hook(record("last conv")),
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    side = DOCUMENTED[name][3]
    assert shapes["target"][-2:] == shapes["last conv"][-2:] == (side, side)  # not pooled further
    # the target is the final convolution's output: the activation right after it (VGG)
    # or the last stage, which ends in that convolution (ResNet)
    target_modules = list(backbone.target_layer.modules())
    features = list(backbone.features.modules()) if backbone.features is not None else []
    assert convs[-1] in target_modules or features[features.index(convs[-1]) + 1] is backbone.target_layer
    assert backbone.target_layer_name and backbone.target_layer is model.get_submodule(backbone.target_layer_name)


def test_the_first_half_is_frozen_as_documented(built) -> None:
    name, backbone = built
    frozen_names, frozen_layers, total, _ = DOCUMENTED[name]
    k = frozen_groups(backbone)
    assert [g.name for g in backbone.groups[:k]] == frozen_names
    assert sum(weight_layers(g) for g in backbone.groups[:k]) == frozen_layers
    assert sum(weight_layers(g) for g in backbone.groups[:-1]) == total


def test_features_share_the_model_parameters(built) -> None:
    _, backbone = built
    ids = {id(p) for p in backbone.model.parameters()}
    assert backbone.features is not None and all(id(p) in ids for p in backbone.features.parameters())
    with torch.no_grad():
        x = torch.rand(2, 3, 64, 64)
        pooled = backbone.features(x).mean(dim=(-2, -1))
        assert torch.allclose(backbone.groups[-1].modules[0][1](pooled), backbone.model.eval()(x), atol=1e-5)
