"""``protopnet/<backbone>``: a prototype network over any registered backbone.

The wrapped backbone (``protopnet/timm/resnet50``, ``protopnet/vgg16``) is built as the
core builds any backbone; its feature groups are kept, its head is dropped, and two
groups follow: the add-on layers with the prototypes, then the last layer. The core
freezes the same leading feature groups as in the wrapped backbone alone. Grad-CAM's
target layer is the add-on output, the map the prototypes are compared with.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from benchmark.api import Backbone, LayerGroup, UserError, build_backbone, check_partition, frozen_groups
from plugins.prototypes.network import ProtoPNet, feature_channels


def _drop(model: nn.Module, modules: list[nn.Module]) -> None:
    """Replace ``modules`` (the wrapped backbone's head) by identities: the feature path never uses them."""
    targets = {id(m) for m in modules}
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in targets:
                setattr(parent, name, nn.Identity())


def protopnet_backbone(
    variant: str,
    num_classes: int,
    pretrained: bool = False,
    weights: str | Path | None = None,
    per_class: int = 10,
    dim: int = 128,
) -> Backbone:
    """The prototype network over the registered backbone ``variant``."""
    inner = build_backbone(variant, num_classes, pretrained, None if weights is None else str(weights))
    if inner.features is None:
        raise UserError(
            f"backbone '{variant}' does not expose its convolutional features: protopnet/{variant} needs them"
        )
    _drop(inner.model, inner.groups[-1].modules)
    channels = feature_channels(inner.features)
    model = ProtoPNet(inner.model, inner.features, channels, num_classes, per_class, dim)
    feature_groups = [LayerGroup(g.name, g.modules) for g in inner.groups[:-1]]
    groups = [
        *feature_groups,
        LayerGroup("prototypes", [model.add_on, model.prototypes]),
        LayerGroup("last-layer", [model.last_layer]),
    ]
    check_partition(model, groups)
    frozen = frozen_groups(inner)  # the same feature groups train as in the CNN it is set beside
    return Backbone(
        model=model,
        groups=groups,
        target_layer=model.add_on,
        pretrained=inner.pretrained,
        frozen=frozen,
        features=inner.features,
        builds_on=variant,
        kind="prototype network",
        info={**inner.info, "prototypes": per_class * num_classes},
    )
