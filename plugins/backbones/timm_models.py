"""Backbones built with timm: the study's four (ImageNet weights converted from
torchvision, ``*.tv_in1k``) and any other timm model as ``timm/<name>``.

Layer groups come from timm's own description of each architecture (stem, stages,
head); VGG is regrouped into its five convolutional blocks (split at the max-pools),
with its fully connected layers (fc6, fc7, new fc) as the head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.errors import UserError
from benchmark.plugin_types import Backbone

PAPER_BACKBONES = {
    "vgg16": "vgg16.tv_in1k",
    "vgg19": "vgg19.tv_in1k",
    "resnet34": "resnet34.tv_in1k",
    "resnet50": "resnet50.tv_in1k",
}


def _create(model_name: str, backbone: str, num_classes: int, pretrained: bool, weights: str | Path | None) -> Any:
    import timm

    from benchmark.models import weights as local

    if model_name.split(".")[0] not in timm.list_models():
        import difflib

        close = difflib.get_close_matches(model_name, timm.list_models(), n=3)
        raise UserError(f"backbone '{backbone}': timm has no model '{model_name}'" + (f"; did you mean {', '.join(close)}?" if close else ""))
    if not pretrained:
        return timm.create_model(model_name, pretrained=False, num_classes=num_classes), "none"
    cfg = timm.models.get_pretrained_cfg(model_name)
    url = getattr(cfg, "url", None) if cfg else None
    file = Path(weights) if weights else local.find_local(model_name, url)
    if weights and not file.is_file():  # type: ignore[union-attr]
        raise UserError(f"backbone '{backbone}': weights file {weights} does not exist")
    if file is not None:
        model = timm.create_model(model_name, pretrained=True, num_classes=num_classes,
                                  pretrained_cfg_overlay={"file": str(file)})
        return model, str(file)
    try:  # the library's own caches (Hugging Face, torch hub) and, where allowed, the network
        return timm.create_model(model_name, pretrained=True, num_classes=num_classes), f"timm:{model_name}"
    except Exception as exc:
        raise UserError(local.missing_message(backbone, model_name, url), hint=f"({type(exc).__name__}: {str(exc)[:200]})") from None


def _vgg_groups(model: Any) -> list:
    """Five conv blocks (split after each max-pool), then fc6/fc7/fc as the head."""
    from torch import nn

    from benchmark.models.grouping import groups_from_ids, leaf_modules_with_params

    block, block_of = 0, {}
    for idx, layer in enumerate(model.features):
        block_of[idx] = block
        if isinstance(layer, nn.MaxPool2d):
            block += 1
    group_of = {}
    for name, _ in leaf_modules_with_params(model):
        if name.startswith("features."):
            group_of[name] = block_of[int(name.split(".")[1])]
        else:
            group_of[name] = block + 1
    names = {b: f"block{b + 1}" for b in range(block)} | {block + 1: "head"}
    return groups_from_ids(model, group_of, names)


def timm_backbone(model_name: str, num_classes: int, pretrained: bool = False, weights: str | Path | None = None,
                  *, backbone: str | None = None) -> Backbone:
    """Any timm model with a fresh ``num_classes`` head, grouped for transfer learning."""
    from benchmark.models.grouping import check_partition, timm_groups

    name = backbone or f"timm/{model_name}"
    model, source = _create(model_name, name, num_classes, pretrained, weights)
    groups = _vgg_groups(model) if model_name.startswith("vgg") else timm_groups(model)
    check_partition(model, groups)
    target = model.get_submodule(model.feature_info[-1]["module"])
    return Backbone(model=model, groups=groups, target_layer=target, pretrained=source,
                    info={"timm_model": model_name, "target_layer": model.feature_info[-1]["module"]})


def paper_backbone(name: str, model_name: str):
    def build(num_classes: int, pretrained: bool = True, weights: str | Path | None = None) -> Backbone:
        return timm_backbone(model_name, num_classes, pretrained, weights, backbone=name)

    build.__doc__ = f"{name} (timm {model_name}: torchvision's ImageNet weights)"
    return build
