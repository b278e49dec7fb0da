"""A complete third-party cbis-bench plugin: one module, one entry-point line.

Install it (``pip install ./examples/my-backbones``) and ``cbis-bench plugins`` lists
``tiny-net``; any spec can then name it under ``matrix.backbone``.
"""

from torch import nn

from benchmark.api import Backbone, LayerGroup, hookimpl


def tiny_net(num_classes: int, pretrained: bool = False, weights: str | None = None) -> Backbone:
    """A two-block CNN, trained from scratch (it has no pretrained weights)."""
    stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
    block = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes))
    groups = [LayerGroup("stem", [stem]), LayerGroup("block", [block]), LayerGroup("head", [head])]
    return Backbone(nn.Sequential(stem, block, head), groups, target_layer=block)


@hookimpl
def register_backbones(register):
    register("tiny-net", tiny_net)
