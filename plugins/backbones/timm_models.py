"""Backbones built with timm: the study's four (ImageNet weights converted from
torchvision, ``*.tv_in1k``) and any other timm model as ``timm/<name>``.

The study's four are built as the study describes: "the fully connected block was
removed and replaced by a fully connected layer". Their convolutional part is timm's
pretrained network without its classifier (VGG's fc6/fc7 are dropped with it); the
head is the feature map averaged over its positions, then one new linear layer
(``benchmark.models.layers.PatchClassifier``). Grad-CAM explains the final
convolution layer's output: VGG's last convolution after its ReLU (14 x 14 at 224
pixels, before the last max-pool), ResNet's last stage (7 x 7).

Layer groups come from timm's own description of each architecture (stem, stages);
VGG is regrouped into its five convolutional blocks (split at the max-pools). Any other
timm model (``timm/<name>``) keeps timm's own head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.api import Backbone, LayerGroup, UserError, did_you_mean

PAPER_BACKBONES = {
    "vgg16": "vgg16.tv_in1k",
    "vgg19": "vgg19.tv_in1k",
    "resnet34": "resnet34.tv_in1k",
    "resnet50": "resnet50.tv_in1k",
}


def _create(model_name: str, backbone: str, pretrained: bool, weights: str | Path | None, **kwargs: Any) -> Any:
    """``(timm model, where its weights came from)``; ``kwargs`` go to ``timm.create_model``."""
    import timm

    from benchmark.api import find_local_weights, missing_weights_message

    if model_name.split(".")[0] not in timm.list_models():
        raise UserError(
            f"backbone '{backbone}': timm has no model '{model_name}'."
            + did_you_mean(model_name, timm.list_models(), n=3)
        )
    if not pretrained:
        return timm.create_model(model_name, pretrained=False, **kwargs), "none"
    cfg = timm.models.get_pretrained_cfg(model_name)
    url = getattr(cfg, "url", None) if cfg else None
    file = Path(weights) if weights else find_local_weights(model_name, url)
    if weights and not Path(weights).is_file():
        raise UserError(f"backbone '{backbone}': weights file {weights} does not exist")
    if file is not None:
        model = timm.create_model(model_name, pretrained=True, pretrained_cfg_overlay={"file": str(file)}, **kwargs)
        return model, str(file)
    try:  # the library's own caches (Hugging Face, torch hub) and, where allowed, the network
        return timm.create_model(model_name, pretrained=True, **kwargs), f"timm:{model_name}"
    except Exception as exc:
        raise UserError(
            missing_weights_message(backbone, model_name, url), hint=f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _vgg_blocks(features: Any, prefix: str) -> tuple[dict[str, int], dict[int, str]]:
    """Leaf modules of a VGG ``features`` sequence -> block id (split after each max-pool)."""
    from torch import nn

    block, group_of = 0, {}
    for idx, layer in enumerate(features):
        if any(True for _ in layer.parameters(recurse=False)):
            group_of[f"{prefix}{idx}"] = block
        if isinstance(layer, nn.MaxPool2d):
            block += 1
    return group_of, {b: f"block{b + 1}" for b in range(block)}


def _vgg_groups(model: Any) -> list[LayerGroup]:
    """Five conv blocks (split after each max-pool), then timm's fc6/fc7/fc as the head."""
    from benchmark.api import groups_from_ids, leaf_modules_with_params

    group_of, names = _vgg_blocks(model.features, "features.")
    head = max(group_of.values()) + 1
    for name, _ in leaf_modules_with_params(model):
        group_of.setdefault(name, head)
    return groups_from_ids(model, group_of, names | {head: "head"})


def _last_conv_activation(features: Any) -> tuple[int, Any]:
    """Index and module of the final convolution's output in a VGG ``features``
    sequence: the activation right after the last convolution (the convolution itself
    when nothing follows it)."""
    from torch import nn

    last = max(i for i, layer in enumerate(features) if isinstance(layer, nn.Conv2d))
    after = last + 1
    if after < len(features) and isinstance(features[after], (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU)):
        return after, features[after]
    return last, features[last]


def study_backbone(
    model_name: str,
    num_classes: int,
    pretrained: bool = False,
    weights: str | Path | None = None,
    *,
    backbone: str | None = None,
) -> Backbone:
    """A VGG or ResNet built as the study built it: the pretrained convolutional part and
    one new fully connected layer on its averaged feature map."""
    from benchmark.api import (
        PatchClassifier,
        check_partition,
        groups_from_ids,
        timm_groups,
    )

    name = backbone or model_name
    net, source = _create(model_name, name, pretrained, weights, num_classes=0, global_pool="")
    if model_name.startswith("vgg"):
        features = net.features  # fc6/fc7 (timm's pre_logits) are left out with the classifier
        _, target = _last_conv_activation(features)
        model = PatchClassifier(features, net.num_features, num_classes)
        group_of, names = _vgg_blocks(features, "features.")
        groups = groups_from_ids(model, group_of, names)
    else:  # timm's ResNet with neither pooling nor classifier returns its last stage's map
        model = PatchClassifier(net, net.num_features, num_classes)
        groups = timm_groups(net)
        target = net.get_submodule(net.feature_info[-1]["module"])
    groups.append(LayerGroup("head", [model.head]))
    check_partition(model, groups)
    return Backbone(
        model=model,
        groups=groups,
        target_layer=target,
        pretrained=source,
        features=model.features,
        info={"timm_model": model_name, "head": "mean over positions, linear"},
    )


def timm_backbone(
    model_name: str,
    num_classes: int,
    pretrained: bool = False,
    weights: str | Path | None = None,
    *,
    backbone: str | None = None,
) -> Backbone:
    """Any timm model with a fresh ``num_classes`` head (timm's own head), grouped for
    transfer learning."""
    from benchmark.api import ForwardFeatures, check_partition, timm_groups

    name = backbone or f"timm/{model_name}"
    model, source = _create(model_name, name, pretrained, weights, num_classes=num_classes)
    groups = _vgg_groups(model) if model_name.startswith("vgg") else timm_groups(model)
    check_partition(model, groups)
    target = model.get_submodule(model.feature_info[-1]["module"])
    return Backbone(
        model=model,
        groups=groups,
        target_layer=target,
        pretrained=source,
        features=ForwardFeatures(model),
        info={"timm_model": model_name},
    )


def paper_backbone(name: str, model_name: str):
    def build(num_classes: int, pretrained: bool = True, weights: str | Path | None = None) -> Backbone:
        return study_backbone(model_name, num_classes, pretrained, weights, backbone=name)

    build.__doc__ = (
        f"{name} as the study built it (timm {model_name}: torchvision's ImageNet weights, one new linear layer)"
    )
    return build
