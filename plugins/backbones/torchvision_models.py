"""Backbones built with torchvision, as ``torchvision/<name>`` (e.g. ``torchvision/mobilenet_v2``).

Weights are torchvision's ImageNet weights (the first, ``IMAGENET1K_V1``, of each model),
read from a local file when given or found (``benchmark.models.weights``), else through
torchvision's own cache and download. Layer groups: the stem (leading convolution and
normalisation), each child of ``features`` or each residual stage, and the classifier as
the head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmark.api import Backbone, LayerGroup, UserError, did_you_mean


def _load_weights(model: Any, name: str, backbone: str, weights: str | Path | None) -> str:
    import torchvision

    from benchmark.api import find_local_weights, missing_weights_message, offline

    try:
        enum = torchvision.models.get_model_weights(name)
        url = list(enum)[0].url
    except Exception:
        url = None
    file = Path(weights) if weights else find_local_weights(name, url)
    if weights and not Path(weights).is_file():
        raise UserError(f"backbone '{backbone}': weights file {weights} does not exist")
    if file is None:
        if url is None:
            raise UserError(f"backbone '{backbone}': torchvision has no ImageNet weights for '{name}'")
        if offline():
            raise UserError(missing_weights_message(backbone, name, url))
        try:
            state = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False)
        except Exception as exc:
            raise UserError(
                missing_weights_message(backbone, name, url), hint=f"({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
        source = f"torchvision:{url}"
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
        source = str(file)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise UserError(
            f"backbone '{backbone}': weights from {source} do not fit torchvision's {name} "
            f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]})"
        )
    return source


def _groups(model: Any) -> tuple[list[LayerGroup], Any]:
    """Stem, feature blocks (children of ``features`` or residual stages), head."""
    children = [(n, m) for n, m in model.named_children() if any(True for _ in m.parameters())]
    *body, (head_name, head) = children
    groups: list[LayerGroup] = []
    stem: list[nn.Module] = []
    for name, module in body:
        if name == "features" and isinstance(module, nn.Sequential):
            parts = [(f"features.{i}", m) for i, m in enumerate(module) if any(True for _ in m.parameters())]
        elif isinstance(module, (nn.Sequential, nn.ModuleList)):
            parts = [(name, module)]
        else:  # a loose convolution or normalisation before the first block
            stem.append(module)
            continue
        if stem:
            groups.append(LayerGroup("stem", stem))
            stem = []
        groups += [LayerGroup(n, [m]) for n, m in parts]
    if stem:
        groups.append(LayerGroup("stem", stem))
    groups.append(LayerGroup("head", [head]))
    return groups, groups[-2].modules[-1]


def _new_head(model: Any, num_classes: int) -> None:
    """Replace the last linear layer of the classifier with a fresh ``num_classes`` one."""
    *_, (head_name, head) = [(n, m) for n, m in model.named_children() if any(True for _ in m.parameters())]
    if isinstance(head, nn.Linear):
        setattr(model, head_name, nn.Linear(head.in_features, num_classes))
        return
    last = [n for n, m in head.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = head.get_submodule(last.rpartition(".")[0]) if "." in last else head
    old = head.get_submodule(last)
    setattr(parent, last.rpartition(".")[2], nn.Linear(old.in_features, num_classes))


def _deterministic_pools(model: Any) -> None:
    from benchmark.api import GlobalMeanPool

    for name, module in list(model.named_modules()):
        if isinstance(module, nn.AdaptiveAvgPool2d) and module.output_size in (1, (1, 1)):
            parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
            setattr(parent, name.rpartition(".")[2], GlobalMeanPool())


def torchvision_backbone(
    name: str,
    num_classes: int,
    pretrained: bool = False,
    weights: str | Path | None = None,
    *,
    backbone: str | None = None,
) -> Backbone:
    import torchvision

    from benchmark.api import check_partition

    label = backbone or f"torchvision/{name}"
    if name not in torchvision.models.list_models(module=torchvision.models):
        known = torchvision.models.list_models(module=torchvision.models)
        raise UserError(
            f"backbone '{label}': torchvision has no classification model '{name}'." + did_you_mean(name, known, n=3)
        )
    model = torchvision.models.get_model(name, weights=None)
    source = _load_weights(model, name, label, weights) if pretrained else "none"
    _new_head(model, num_classes)
    _deterministic_pools(model)
    groups, target = _groups(model)
    check_partition(model, groups)
    return Backbone(
        model=model,
        groups=groups,
        target_layer=target,
        pretrained=source,
        features=_features(model),
        info={"torchvision_model": name},
    )


def _features(model: Any) -> nn.Module:
    """The convolutional part: ``features`` where the model has it (VGG, MobileNet,
    EfficientNet, DenseNet), else its children up to the global pool (ResNet-like)."""
    from benchmark.api import GlobalMeanPool

    if isinstance(getattr(model, "features", None), nn.Module):
        return model.features
    body = []
    for child in model.children():
        if isinstance(child, (nn.AdaptiveAvgPool2d, GlobalMeanPool)):
            break
        body.append(child)
    return nn.Sequential(*body)
