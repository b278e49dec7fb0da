"""What "the first half of the network" means, defined once for every backbone.

The study always froze the first half of the network. Here the network is its layer
groups (input to output, head last; a backbone plugin decides the groups: VGG blocks,
ResNet stages, ...). Depth is counted in weight layers (convolutions and linear layers)
of the feature groups (the new head is not counted). The frozen part is the **prefix of
feature groups whose weight layers come closest to half of them** (on a tie, the
shorter prefix); the remaining groups form "the final half". For the study's backbones:

* VGG16 (blocks of 2, 2, 3, 3, 3 convolutions): blocks 1-3 frozen (7 of 13), blocks 4-5 train;
* VGG19 (2, 2, 4, 4, 4): blocks 1-3 frozen (8 of 16), blocks 4-5 train;
* ResNet34 (stem 1, stages 6, 9, 13, 7): stem and stages 1-2 frozen (16 of 36), stages 3-4 train;
* ResNet50 (stem 1, stages 10, 13, 19, 10): stem and stages 1-2 frozen (24 of 53), stages 3-4 train.

At least one feature group always trains. A backbone may override the rule with
``Backbone.frozen`` when counting layers misleads.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.models.grouping import weight_layers
from benchmark.plugin_types import Backbone, LayerGroup


def first_half(groups: Sequence[LayerGroup]) -> int:
    """How many leading groups are frozen (the head, last, is never counted)."""
    features = list(groups[:-1])
    total = sum(weight_layers(g) for g in features)
    prefix = [0]
    for group in features:
        prefix.append(prefix[-1] + weight_layers(group))
    candidates = range(0, max(1, len(features)))  # always leave one feature group to train
    return min(candidates, key=lambda k: (abs(2 * prefix[k] - total), k))


def frozen_groups(backbone: Backbone) -> int:
    return backbone.frozen if backbone.frozen is not None else first_half(backbone.groups)


def set_trainable(groups: Sequence[LayerGroup], trainable: set[int]) -> None:
    """Freeze every group not in ``trainable``: no gradients, and BatchNorm in inference
    mode (as Keras does for non-trainable layers), so frozen statistics stay ImageNet's."""
    for index, group in enumerate(groups):
        on = index in trainable
        for p in group.parameters():
            p.requires_grad_(on)
        for m in group.modules:
            m.train(on)
